import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `xdg_wm_base`: creates xdg_surfaces and positioners, and checks the client is alive (ping).
package final class XdgWmBase: ResourceHandler {
    /// Version 5 (xdg_toplevel.wm_capabilities). Clients known to abort on v5 events see a
    /// second, v4 global instead (ClientQuirks); `compatibilityVersion` is its version.
    package static let version: UInt32 = 5
    package static let compatibilityVersion: UInt32 = 4
    private let state: XdgShellState
    package let resource: OpaquePointer
    /// xdg_surfaces created from this object that still exist (destroying the base before
    /// them is `defunct_surfaces`).
    package var surfaces = 0
    private var pendingPing: UInt32?

    package init(state: XdgShellState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package static func bind(_ state: XdgShellState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_xdg_wm_base_interface(), version: version, id: id) { r in
            XdgWmBase(state: state, resource: r)
        }
    }

    /// Sends a ping unless one is outstanding; the client must answer with pong.
    package func ping() {
        guard pendingPing == nil else { return }
        let serial = state.context.nextSerial()
        pendingPing = serial
        xdg_wm_base_send_ping(resource, serial)
    }

    package func handle(_ request: Request) {
        switch XdgWmBaseRequest(request) {
        case .destroy?:
            guard surfaces == 0 else {
                return state.context.post(XdgWmBaseError.defunctSurfaces, on: request.resource,
                                        "xdg_wm_base destroyed while \(surfaces) xdg_surface(s) still exist")
            }
            wl_resource_destroy(request.resource)
        case let .createPositioner(id)?:
            Resources.create(client: request.client, interface: cw_xdg_positioner_interface(), version: request.version, id: id) { _ in
                XdgPositioner(context: state.context)
            }
        case let .getXdgSurface(id, surface)?:
            getXdgSurface(request, id: id, surface: surface)
        case let .pong(serial)?:
            if serial == pendingPing { pendingPing = nil }
        case nil: break
        }
    }

    private func getXdgSurface(_ request: Request, id: UInt32, surface surfaceResource: OpaquePointer) {
        guard let wlSurface = Resources.object(surfaceResource, as: WlSurface.self) else { return }
        let surface = wlSurface.surface
        if let role = surface.roleName, role != "xdg_toplevel", role != "xdg_popup" {
            return state.context.post(XdgWmBaseError.role, on: request.resource,
                                    "wl_surface@\(surface.id) already has the role \(role)")
        }
        if surface.role != nil {
            return state.context.post(XdgWmBaseError.role, on: request.resource,
                                    "wl_surface@\(surface.id) already has an xdg_surface")
        }
        if surface.hasBuffer || isAttached(surface.pending.attachment) {
            return state.context.post(XdgWmBaseError.invalidSurfaceState, on: request.resource,
                                    "wl_surface@\(surface.id) already has a buffer attached or committed")
        }
        Resources.create(client: request.client, interface: cw_xdg_surface_interface(), version: request.version, id: id) { r in
            let xdg = XdgSurface(state: state, resource: r, surface: surface, wmBase: self)
            surface.role = xdg
            surfaces += 1
            return xdg
        }
    }

    private func isAttached(_ a: SurfaceState<Buffer>.Attachment) -> Bool {
        if case .attached(.some) = a { return true }
        return false
    }
}
