import Buffers
import CWayland
import SceneGraph
import WaylandCore

/// Which decorations a window gets: **what its client asks for, client-side when it asks
/// nothing**. compositord draws no decorations (headless, only the windows' own pixels reach a
/// screenshot or a VNC viewer), so client-side keeps a toolkit's own title bar and buttons and is
/// the default. But a client that asks for server-side gets it, as sway grants it: told
/// client-side, Debian 12's SDL2 drops its xdg_toplevel to draw through libdecor and, without a
/// libdecor plugin installed, never maps a window again (ffplay showed nothing). Such a window
/// is shown without decorations, as it would be under a tiling compositor.
enum DecorationPolicy {
    static let xdgDefault = ZXDG_TOPLEVEL_DECORATION_V1_MODE_CLIENT_SIDE
    static let kdeDefault = ORG_KDE_KWIN_SERVER_DECORATION_MANAGER_MODE_CLIENT
}

/// `zxdg_decoration_manager_v1`: one decoration object per toplevel.
package final class XdgDecorationManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: XdgShellState
    /// nil once destroyed (its decorations live on).
    private(set) var resource: OpaquePointer?

    init(state: XdgShellState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package static func bind(_ state: XdgShellState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zxdg_decoration_manager_v1_interface(), version: version, id: id) { r in
            XdgDecorationManager(state: state, resource: r)
        }
    }

    package func resourceDestroyed() { resource = nil }

    package func handle(_ request: Request) {
        switch ZxdgDecorationManagerV1Request(request) {
        case let .getToplevelDecoration(id, toplevelResource)?:
            guard let toplevel = Resources.object(toplevelResource, as: XdgToplevel.self) else { return }
            // Both errors on the manager (see ToplevelDecoration).
            if toplevel.decoration != nil {
                return state.context.postError(request.resource, code: ZxdgToplevelDecorationV1Error.alreadyConstructed.rawValue,
                                          "xdg_toplevel@\(wl_resource_get_id(toplevelResource)) already has a decoration object")
            }
            if let surface = toplevel.surface, surface.hasBuffer || { if case .attached(_?) = surface.pending.attachment { true } else { false } }() {
                return state.context.postError(request.resource, code: ZxdgToplevelDecorationV1Error.unconfiguredBuffer.rawValue,
                                          "get_toplevel_decoration after a buffer was attached: ask for the decoration before the first buffer")
            }
            guard let r = Resources.create(client: request.client, interface: cw_zxdg_toplevel_decoration_v1_interface(),
                                           version: request.version, id: id,
                                           handler: { r in ToplevelDecoration(state: state, resource: r, manager: self, toplevel: toplevel) }),
                  let decoration = Resources.handler(of: r) as? ToplevelDecoration else { return }
            toplevel.decoration = decoration
            decoration.scheduleAnnounce()
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zxdg_toplevel_decoration_v1`: the client's preference and the mode it gets (DecorationPolicy),
/// sent at once when created or asked, and with each configure of its toplevel.
///
/// Its errors are posted on the manager that made it, as wlcs 1.8.1 (Mir's behaviour) expects:
/// the spec names the codes (in this interface's enum) but not the object.
package final class ToplevelDecoration: ResourceHandler {
    private let state: XdgShellState
    private(set) var resource: OpaquePointer?
    /// The zxdg_decoration_manager_v1 that made it (for `orphaned`).
    private weak var manager: XdgDecorationManager?
    private weak var toplevel: XdgToplevel?
    /// The mode asked for with set_mode; nil: no preference (unset_mode, or never set).
    private var requested: UInt32?

    /// Where its errors go: the manager that made it while that exists, else itself.
    var errorObject: OpaquePointer? { manager?.resource ?? resource }

    init(state: XdgShellState, resource: OpaquePointer, manager: XdgDecorationManager, toplevel: XdgToplevel) {
        self.state = state
        self.resource = resource
        self.manager = manager
        self.toplevel = toplevel
    }

    /// The mode now, and an xdg_surface.configure to go with it once the surface had its
    /// initial commit (before that, the first configure carries the mode again).
    func announce() {
        sendConfigure()
        toplevel?.requestConfigure()
    }

    private var announceScheduled = false

    /// `announce` once the requests that came with this one are handled (an idle source, as
    /// wlroots does): a set_mode in the same batch as get_toplevel_decoration must decide the
    /// first configure, or SDL2 takes the default it would be told first and drops its window.
    func scheduleAnnounce() {
        guard !announceScheduled, let resource else { return }
        announceScheduled = true
        let loop = wl_display_get_event_loop(wl_client_get_display(wl_resource_get_client(resource)))
        wl_event_loop_add_idle(loop, { data in
            let decoration = Unmanaged<ToplevelDecoration>.fromOpaque(data!).takeRetainedValue()
            decoration.announceScheduled = false
            if decoration.resource != nil { decoration.announce() }
        }, Unmanaged.passRetained(self).toOpaque())
    }

    /// Part of its toplevel's configure sequence (before xdg_surface.configure).
    func sendConfigure() {
        guard let resource else { return }
        zxdg_toplevel_decoration_v1_send_configure(resource, requested ?? DecorationPolicy.xdgDefault.rawValue)
    }

    package func handle(_ request: Request) {
        switch ZxdgToplevelDecorationV1Request(request) {
        case let .setMode(mode)?:
            guard mode == ZXDG_TOPLEVEL_DECORATION_V1_MODE_CLIENT_SIDE.rawValue || mode == ZXDG_TOPLEVEL_DECORATION_V1_MODE_SERVER_SIDE.rawValue else {
                return state.context.post(ZxdgToplevelDecorationV1Error.invalidMode, on: request.resource,
                                          "mode \(mode) is neither client_side (1) nor server_side (2)")
            }
            requested = mode
            scheduleAnnounce()
        case .unsetMode?:
            requested = nil
            scheduleAnnounce()
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func resourceDestroyed() {
        resource = nil
        if toplevel?.decoration === self { toplevel?.decoration = nil }
    }
}

/// KDE's `org_kde_kwin_server_decoration_manager` (Qt and older toolkits ask it): the same policy,
/// client-side by default, the mode a client asks for when it asks.
package final class KdeServerDecorationManager: ResourceHandler {
    package static let version: UInt32 = 1

    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_org_kde_kwin_server_decoration_manager_interface(), version: version, id: id,
                                       handler: { _ in KdeServerDecorationManager() }) else { return }
        org_kde_kwin_server_decoration_manager_send_default_mode(r, DecorationPolicy.kdeDefault.rawValue)
    }

    package func handle(_ request: Request) {
        guard case let .create(id, _)? = OrgKdeKwinServerDecorationManagerRequest(request) else { return }
        guard let r = Resources.create(client: request.client, interface: cw_org_kde_kwin_server_decoration_interface(),
                                       version: request.version, id: id, handler: { _ in KdeServerDecoration() }) else { return }
        org_kde_kwin_server_decoration_send_mode(r, DecorationPolicy.kdeDefault.rawValue)
    }
}

/// `org_kde_kwin_server_decoration`: the mode asked for is the mode it gets.
package final class KdeServerDecoration: ResourceHandler {
    package func handle(_ request: Request) {
        switch OrgKdeKwinServerDecorationRequest(request) {
        case let .requestMode(mode)?:
            let known = mode <= ORG_KDE_KWIN_SERVER_DECORATION_MODE_SERVER.rawValue
            org_kde_kwin_server_decoration_send_mode(request.resource, known ? mode : DecorationPolicy.kdeDefault.rawValue)
        case .release?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}
