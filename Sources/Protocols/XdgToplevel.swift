import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `xdg_toplevel`: a desktop window. Placed on the output by `Placement` when first mapped.
package final class XdgToplevel: ResourceHandler, XdgRole {
    private let state: XdgShellState
    /// nil once destroyed: others hold this strongly and may outlive it (nothing is sent then).
    private var resource: OpaquePointer?
    /// Strong (no side table on the per-commit path); nil once this or the xdg_surface is destroyed.
    private var xdgSurface: XdgSurface?
    package private(set) var title = "", appID = ""
    package private(set) var maximized = false, fullscreen = false
    /// Hidden by a set_minimized (its own or a taskbar's) until activated or restored.
    package private(set) var minimized = false
    /// The layout rectangle of the output named by the last set_fullscreen (nil: none named,
    /// the shell picks).
    package private(set) var fullscreenOutput: Rect?
    /// The size an interactive resize asks for, while it lasts.
    private var resizeSize: (Int32, Int32)?
    /// Whether this is the focused window (the seat's active toplevel).
    package private(set) var activated = false
    private var sentCapabilities = false
    /// Its zxdg_toplevel_decoration_v1, while that exists (at most one: already_constructed).
    package weak var decoration: ToplevelDecoration?
    /// Where the window geometry's top-left corner is, once placed.
    private var position: (x: Int32, y: Int32)?

    package init(state: XdgShellState, resource: OpaquePointer, xdgSurface: XdgSurface) {
        self.state = state
        self.resource = resource
        self.xdgSurface = xdgSurface
    }

    package func handle(_ request: Request) {
        switch XdgToplevelRequest(request) {
        case .destroy?:
            if let decoration, decoration.resource != nil, let manager = decoration.errorObject {
                // On the manager (see ToplevelDecoration).
                return state.context.postError(manager, code: ZxdgToplevelDecorationV1Error.orphaned.rawValue,
                                               "xdg_toplevel destroyed before its zxdg_toplevel_decoration_v1: destroy the decoration first")
            }
            wl_resource_destroy(request.resource)
        case let .setTitle(title)?:
            self.title = title
            state.foreignToplevels.changed(self)
        case let .setAppId(appId)?:
            appID = appId
            state.foreignToplevels.changed(self)
        case let .setParent(parent)?:
            // A parent only affects stacking; refuse loops (a toplevel cannot parent itself).
            if let parent, Resources.object(parent, as: XdgToplevel.self) === self {
                state.context.post(XdgToplevelError.invalidParent, on: request.resource,
                                 "a toplevel cannot be its own parent")
            }
        case let .resize(_, serial, edges)?:
            guard [0, 1, 2, 4, 5, 6, 8, 9, 10].contains(edges) else {
                return state.context.post(XdgToplevelError.invalidResizeEdge, on: request.resource,
                                        "resize edge \(edges) is not an xdg_toplevel.resize_edge value")
            }
            guard let xdg = xdgSurface, let surface = xdg.surface, let view = surface.view else { return }
            let g = xdg.windowGeometry
            state.delegate.resizeRequested(self, edges: edges, geometry: Rect(x: view.x + g.x, y: view.y + g.y, width: g.width, height: g.height),
                                           serial: serial, client: request.client)
        case let .setMaxSize(width, height)?, let .setMinSize(width, height)?:
            guard width >= 0, height >= 0 else {
                return state.context.post(XdgToplevelError.invalidSize, on: request.resource,
                                        "min/max size \(width)x\(height) is negative")
            }
        case .setMaximized?:
            state.delegate.maximizeRequested(self, true)
        case .unsetMaximized?:
            state.delegate.maximizeRequested(self, false)
        case let .setFullscreen(output)?:  // on the output named, else on the shell's choice
            fullscreenOutput = WlOutput.output(of: output)?.layout
            state.delegate.fullscreenRequested(self, true)
        case .unsetFullscreen?:
            state.delegate.fullscreenRequested(self, false)
        case let .move(_, serial)?:
            guard let xdg = xdgSurface, let surface = xdg.surface, let view = surface.view else { return }
            state.delegate.moveRequested(self, windowX: view.x + xdg.windowGeometry.x, windowY: view.y + xdg.windowGeometry.y,
                                         serial: serial, client: request.client)
        case .setMinimized?:
            state.delegate.minimizeRequested(self, true)
        case .showWindowMenu?, nil:
            break  // show_window_menu: there is no menu to show
        }
    }

    /// Puts the window geometry's top-left corner at (x, y) in output space (the embedder's
    /// position_window, an interactive move); before the first map it is where the window maps.
    package func place(x: Int32, y: Int32) {
        position = (x, y)
        guard !(maximized || fullscreen), let xdg = xdgSurface, let surface = xdg.surface, surface.view != nil else { return }
        let geometry = xdg.windowGeometry
        state.delegate.showWindow(surface, x: x - geometry.x, y: y - geometry.y)
    }

    /// The shell's decision on xdg_toplevel.set/unset_maximized and set/unset_fullscreen: the
    /// states change and the client is configured with them (the spec asks for a configure
    /// either way, even when nothing changed).
    package func setWindowStates(maximized: Bool? = nil, fullscreen: Bool? = nil) {
        if let maximized { self.maximized = maximized }
        if let fullscreen { self.fullscreen = fullscreen }
        xdgSurface?.sendConfigure()
        state.foreignToplevels.changed(self)
    }

    package func sendConfigure() {
        guard let resource else { return }
        decoration?.sendConfigure()
        if !sentCapabilities && wl_resource_get_version(resource) >= 5 {
            sentCapabilities = true
            var caps = wl_array()
            wl_array_init(&caps)
            // Maximize, fullscreen and minimize are honoured; there is no window menu.
            for cap in [XDG_TOPLEVEL_WM_CAPABILITIES_MAXIMIZE, XDG_TOPLEVEL_WM_CAPABILITIES_FULLSCREEN, XDG_TOPLEVEL_WM_CAPABILITIES_MINIMIZE] {
                if let p = wl_array_add(&caps, 4) { p.storeBytes(of: cap.rawValue, as: UInt32.self) }
            }
            xdg_toplevel_send_wm_capabilities(resource, &caps)
            wl_array_release(&caps)
        }
        var states = wl_array()
        wl_array_init(&states)
        func add(_ s: xdg_toplevel_state) {
            if let p = wl_array_add(&states, 4) { p.storeBytes(of: s.rawValue, as: UInt32.self) }
        }
        if activated { add(XDG_TOPLEVEL_STATE_ACTIVATED) }
        var (w, h): (Int32, Int32) = resizeSize ?? lastResize ?? (0, 0)  // 0×0: the client picks its size
        if resizeSize != nil { add(XDG_TOPLEVEL_STATE_RESIZING) }
        if maximized { add(XDG_TOPLEVEL_STATE_MAXIMIZED) }
        if fullscreen { add(XDG_TOPLEVEL_STATE_FULLSCREEN) }
        if let size = state.delegate.configuredSize(of: self) { (w, h) = size }
        xdg_toplevel_send_configure(resource, w, h, &states)
        wl_array_release(&states)
    }

    package func committed(_ result: CommitResult<Buffer>) {
        guard let xdg = xdgSurface, let surface = xdg.surface else { return }
        let geometry = xdg.windowGeometry
        if !surface.hasBuffer {
            let wasShown = surface.view != nil
            state.delegate.hideWindow(surface)
            state.foreignToplevels.gone(self)
            if wasShown { state.delegate.toplevelGone(self) }  // an unmapped window gives up the focus
            return
        }
        guard xdg.configured, !minimized else { return }
        let origin = state.delegate.placement(of: self, remembered: position)
        if !(maximized || fullscreen) { position = origin }
        if surface.view != nil {
            state.delegate.showWindow(surface, x: origin.x - geometry.x, y: origin.y - geometry.y)
        } else {
            defer {
                state.delegate.toplevelMapped(self)  // the shell focuses it (after the map)
                state.foreignToplevels.mapped(self)
            }
            state.delegate.showWindow(surface, x: origin.x - geometry.x, y: origin.y - geometry.y)
            state.context.logger.info("toplevel mapped", metadata: [
                "title": "\(title)", "app-id": "\(appID)", "x": "\(origin.x)", "y": "\(origin.y)",
                "size": "\(geometry.width)x\(geometry.height)",
            ])
        }
    }

    /// An interactive resize moved the dragged edges: the window geometry's corner goes to the
    /// new top-left at once (the dragged edge follows the pointer), and a configure asks for the
    /// new size with the `resizing` state.
    package func interactiveResize(to geometry: Rect) {
        place(x: geometry.x, y: geometry.y)
        guard resizeSize.map({ $0 != (geometry.width, geometry.height) }) ?? true else { return }
        resizeSize = (geometry.width, geometry.height)
        xdgSurface?.sendConfigure()
    }

    /// The resize ended: a last configure with that size, without `resizing`.
    package func endInteractiveResize() {
        guard let size = resizeSize else { return }
        resizeSize = nil
        lastResize = size
        xdgSurface?.sendConfigure()
        lastResize = nil
    }
    private var lastResize: (Int32, Int32)?

    /// The seat's focus moved to or away from this window: a configure tells the client.
    package func setActivated(_ value: Bool) {
        guard value != activated else { return }
        activated = value
        xdgSurface?.sendConfigure()
        state.foreignToplevels.changed(self)
    }

    /// Minimized or restored by the shell (a taskbar sees the state; the shell hides and shows).
    package func setMinimized(_ value: Bool) {
        guard value != minimized else { return }
        minimized = value
        state.foreignToplevels.changed(self)
    }

    /// Shows the window again where it was (after a minimize).
    package func restore() {
        guard let xdg = xdgSurface, let surface = xdg.surface, surface.hasBuffer, xdg.configured else { return }
        let origin = state.delegate.placement(of: self, remembered: position)
        let g = xdg.windowGeometry
        state.delegate.showWindow(surface, x: origin.x - g.x, y: origin.y - g.y)
    }

    /// xdg_toplevel.close: a taskbar asks the client to close the window.
    package func requestClose() {
        if let resource { xdg_toplevel_send_close(resource) }
    }

    /// A configure with the current state, once the surface has had its initial commit (before
    /// that, the first configure will carry it).
    package func requestConfigure() {
        guard let xdg = xdgSurface, xdg.initialCommitDone else { return }
        xdg.sendConfigure()
    }

    /// The root surface of this window (the seat activates the window a click lands in).
    package var surface: Surface? { xdgSurface?.surface }

    package func detach() {
        state.delegate.toplevelGone(self)
        state.foreignToplevels.gone(self)
        if let surface = xdgSurface?.surface { state.delegate.hideWindow(surface) }
    }

    package func xdgSurfaceDestroyed() { xdgSurface = nil }

    package func resourceDestroyed() {
        resource = nil
        detach()
        if xdgSurface?.roleObject === self { xdgSurface?.roleObject = nil }
        xdgSurface = nil
    }
}
