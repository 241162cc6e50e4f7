import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `xdg_popup`: a surface placed relative to its parent by an xdg_positioner's rules.
package final class XdgPopup: ResourceHandler, XdgRole {
    private let state: XdgShellState
    /// nil once destroyed: others hold this strongly and may outlive it (nothing is sent then).
    private var resource: OpaquePointer?
    /// Strong, not weak (no side tables on the per-commit path); nil once this or the
    /// xdg_surface is destroyed.
    private var xdgSurface: XdgSurface?
    /// The parent's xdg_surface, strong for the same reason; once destroyed it counts as no parent.
    private var parentXdgSurface: XdgSurface?
    private var parent: XdgSurface? {
        guard let p = parentXdgSurface, !p.isDestroyed else { return nil }
        return p
    }
    private var rules: XdgPositioner.Rules
    private var repositionToken: UInt32?
    /// Where the last configure put the popup, relative to the parent's window geometry.
    private var placed: Rect?
    /// Dismissed by the compositor (popup_done): it stays unmapped until destroyed.
    private var dismissed = false

    package let client: OpaquePointer
    /// This popup's wl_surface (keyboard focus goes to a grabbing popup).
    package var surface: Surface? { xdgSurface?.surface }
    /// The parent's wl_surface (the window a click in this popup focuses).
    package var parentSurface: Surface? { parent?.surface }

    package init(state: XdgShellState, resource: OpaquePointer, xdgSurface: XdgSurface, parent: XdgSurface?, rules: XdgPositioner.Rules) {
        self.state = state
        self.resource = resource
        client = wl_resource_get_client(resource)
        self.xdgSurface = xdgSurface
        parentXdgSurface = parent
        self.rules = rules
    }

    package func handle(_ request: Request) {
        switch XdgPopupRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .grab(_, serial)?:
            if xdgSurface?.surface?.isMapped == true {
                return state.context.post(XdgPopupError.invalidGrab, on: request.resource,
                                        "grab on a popup that is already mapped")
            }
            // Honoured only for a recent button press or touch down of this client, and only on
            // top of the current grab chain; otherwise dismissed at once, as the spec allows.
            guard state.delegate.grabPopup(self, serial: serial, client: request.client,
                                        parentPopup: parent?.roleObject as? XdgPopup) else {
                return dismiss()
            }
        case let .reposition(positionerResource, token)?:
            guard let positioner = Resources.object(positionerResource, as: XdgPositioner.self) else { return }
            rules = positioner.rules
            repositionToken = token
            xdgSurface?.sendConfigure()
        case nil: break
        }
    }

    /// `popup_done`: the compositor dismissed the popup; the client should destroy it.
    package func dismiss() {
        guard !dismissed, let resource else { return }
        dismissed = true
        state.delegate.popupGone(self)
        xdg_popup_send_popup_done(resource)
        detach()
    }

    package func sendConfigure() {
        guard let resource else { return }
        if let token = repositionToken, wl_resource_get_version(resource) >= 3 {
            xdg_popup_send_repositioned(resource, token)
        }
        repositionToken = nil
        let g = placement()
        placed = g
        xdg_popup_send_configure(resource, g.x, g.y, g.width, g.height)
    }

    /// The positioner's rectangle, constrained to the output when the parent is on it.
    private func placement() -> Rect {
        guard let parent, let view = parent.surface?.view else { return rules.geometry }
        let px = view.x + parent.windowGeometry.x, py = view.y + parent.windowGeometry.y
        let output = state.delegate.outputBounds(of: Rect(x: view.x, y: view.y, width: parent.surface?.width ?? 0, height: parent.surface?.height ?? 0))
        return rules.constrained(to: Rect(x: output.x - px, y: output.y - py, width: output.width, height: output.height))
    }

    package func committed(_ result: CommitResult<Buffer>) {
        guard let xdg = xdgSurface, let surface = xdg.surface else { return }
        guard surface.hasBuffer, !dismissed else { return state.delegate.hideWindow(surface) }
        guard xdg.configured else { return }
        // Relative to the parent's window geometry; a popup without a parent sits at the origin.
        let g = placed ?? placement()
        var x = g.x - xdg.windowGeometry.x
        var y = g.y - xdg.windowGeometry.y
        if let parent, let parentView = parent.surface?.view {
            x += parentView.x + parent.windowGeometry.x
            y += parentView.y + parent.windowGeometry.y
        }
        state.delegate.showWindow(surface, x: x, y: y)
    }

    package func detach() {
        if let surface = xdgSurface?.surface { state.delegate.hideWindow(surface) }
    }

    package func xdgSurfaceDestroyed() { xdgSurface = nil }

    package func resourceDestroyed() {
        resource = nil
        state.delegate.popupGone(self)
        detach()
        if xdgSurface?.roleObject === self { xdgSurface?.roleObject = nil }
        xdgSurface = nil
        parentXdgSurface = nil
    }
}
