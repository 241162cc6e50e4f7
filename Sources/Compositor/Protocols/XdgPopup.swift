import CWayland

/// `xdg_popup`: a surface placed relative to its parent by an xdg_positioner's rules.
final class XdgPopup: ResourceHandler, XdgRole {
    private unowned let server: Server
    private let resource: OpaquePointer
    private weak var xdgSurface: XdgSurface?
    private weak var parent: XdgSurface?
    private var rules: XdgPositioner.Rules
    private var repositionToken: UInt32?

    init(server: Server, resource: OpaquePointer, xdgSurface: XdgSurface, parent: XdgSurface?, rules: XdgPositioner.Rules) {
        self.server = server
        self.resource = resource
        self.xdgSurface = xdgSurface
        self.parent = parent
        self.rules = rules
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case XDG_POPUP_DESTROY:
            wl_resource_destroy(request.resource)
        case XDG_POPUP_GRAB:
            // There is no seat, so no input event serial a grab could name: dismiss at once, as
            // compositors do for grabs they cannot honour.
            xdg_popup_send_popup_done(resource)
        case XDG_POPUP_REPOSITION:
            guard let positioner = Resources.object(request.object(0), as: XdgPositioner.self) else { return }
            rules = positioner.rules
            repositionToken = request.uint(1)
            xdgSurface?.sendConfigure()
        default: break
        }
    }

    func sendConfigure() {
        if let token = repositionToken, wl_resource_get_version(resource) >= 3 {
            xdg_popup_send_repositioned(resource, token)
        }
        repositionToken = nil
        let g = rules.geometry
        xdg_popup_send_configure(resource, g.x, g.y, g.width, g.height)
    }

    func committed(_ result: CommitResult<Buffer>) {
        guard let xdg = xdgSurface, let surface = xdg.surface else { return }
        guard surface.hasBuffer else { return server.scene.unmap(surface) }
        guard xdg.configured else { return }
        // Relative to the parent's window geometry; a popup without a parent sits at the origin.
        var x = rules.geometry.x - xdg.windowGeometry.x
        var y = rules.geometry.y - xdg.windowGeometry.y
        if let parent, let parentView = parent.surface?.view {
            x += parentView.x + parent.windowGeometry.x
            y += parentView.y + parent.windowGeometry.y
        }
        if let view = surface.view {
            server.scene.move(view, x: x, y: y)
        } else {
            server.scene.map(surface, x: x, y: y)
        }
    }

    func detach() {
        if let surface = xdgSurface?.surface { server.scene.unmap(surface) }
    }

    func resourceDestroyed() {
        detach()
        if xdgSurface?.roleObject === self { xdgSurface?.roleObject = nil }
    }
}
