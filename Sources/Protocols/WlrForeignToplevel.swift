import Buffers
import CWayland
import SurfaceModel
import WaylandCore

/// `zwlr_foreign_toplevel_manager_v1` v3 (wlroots' taskbar protocol: waybar's taskbar, sfwbar,
/// wlrctl): the mapped toplevels with their title, app id and state, and a taskbar's requests
/// (maximize, minimize, fullscreen, activate, close). Served by ForeignToplevelListState
/// alongside ext_foreign_toplevel_list_v1.
package final class WlrForeignToplevelManager: ResourceHandler {
    package static let version: UInt32 = 3
    private let state: ForeignToplevelListState
    private(set) var resource: OpaquePointer?

    init(state: ForeignToplevelListState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        // stop: no more toplevels; `finished` is a destructor event, the object is gone after it.
        guard case .stop? = ZwlrForeignToplevelManagerV1Request(request), resource != nil else { return }
        state.managerStopped(self)
        zwlr_foreign_toplevel_manager_v1_send_finished(request.resource)
        wl_resource_destroy(request.resource)
    }

    package func resourceDestroyed() {
        resource = nil
        state.managerStopped(self)
    }
}

/// `zwlr_foreign_toplevel_handle_v1`: one toplevel as a taskbar sees it; inert once `closed`.
package final class WlrForeignToplevelHandle: ResourceHandler {
    private let state: ForeignToplevelListState
    private var resource: OpaquePointer?
    private weak var toplevel: XdgToplevel?

    init(state: ForeignToplevelListState, resource: OpaquePointer, toplevel: XdgToplevel) {
        self.state = state
        self.resource = resource
        self.toplevel = toplevel
    }

    /// Title, app id and state, then `done`.
    func sendDetails(of toplevel: XdgToplevel) {
        guard let resource else { return }
        zwlr_foreign_toplevel_handle_v1_send_title(resource, toplevel.title)
        zwlr_foreign_toplevel_handle_v1_send_app_id(resource, toplevel.appID)
        var states: [UInt32] = []
        if toplevel.maximized { states.append(ZWLR_FOREIGN_TOPLEVEL_HANDLE_V1_STATE_MAXIMIZED.rawValue) }
        if toplevel.minimized { states.append(ZWLR_FOREIGN_TOPLEVEL_HANDLE_V1_STATE_MINIMIZED.rawValue) }
        if toplevel.activated { states.append(ZWLR_FOREIGN_TOPLEVEL_HANDLE_V1_STATE_ACTIVATED.rawValue) }
        if toplevel.fullscreen && wl_resource_get_version(resource) >= 2 {
            states.append(ZWLR_FOREIGN_TOPLEVEL_HANDLE_V1_STATE_FULLSCREEN.rawValue)
        }
        states.withUnsafeMutableBytes { bytes in
            var array = wl_array(size: bytes.count, alloc: bytes.count, data: bytes.baseAddress)
            zwlr_foreign_toplevel_handle_v1_send_state(resource, &array)
        }
        zwlr_foreign_toplevel_handle_v1_send_done(resource)
    }

    func close() {
        toplevel = nil
        if let resource { zwlr_foreign_toplevel_handle_v1_send_closed(resource) }
    }

    package func handle(_ request: Request) {
        let shell = state.shell.delegate
        switch ZwlrForeignToplevelHandleV1Request(request) {
        case .setMaximized?: if let toplevel { shell.maximizeRequested(toplevel, true) }
        case .unsetMaximized?: if let toplevel { shell.maximizeRequested(toplevel, false) }
        case .setMinimized?: if let toplevel { shell.minimizeRequested(toplevel, true) }
        case .unsetMinimized?: if let toplevel { shell.minimizeRequested(toplevel, false) }
        case .setFullscreen?: if let toplevel { shell.fullscreenRequested(toplevel, true) }  // on its own output
        case .unsetFullscreen?: if let toplevel { shell.fullscreenRequested(toplevel, false) }
        case .activate?: if let toplevel { shell.activateRequested(toplevel) }
        case .close?: toplevel?.requestClose()
        case let .setRectangle(_, _, _, width, height)?:
            // Where the taskbar shows the window (for a minimize animation): nothing to animate.
            guard width >= 0, height >= 0 else {
                return state.context.post(ZwlrForeignToplevelHandleV1Error.invalidRectangle, on: request.resource,
                                          "set_rectangle with a negative size \(width)x\(height): use 0x0 to unset it")
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func resourceDestroyed() { resource = nil }
}
