import CWayland

/// `wl_compositor`: the factory for surfaces and regions.
final class WlCompositor: ResourceHandler {
    /// libwayland 1.21's wayland.xml stops at version 5.
    static let version: UInt32 = 5
    private unowned let server: Server

    init(server: Server) { self.server = server }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_compositor_interface(), version: version, id: id) { _ in
            WlCompositor(server: server)
        }
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WL_COMPOSITOR_CREATE_SURFACE:
            let id = request.newID(0)
            Resources.create(client: request.client, interface: cw_wl_surface_interface(), version: request.version, id: id) { resource in
                WlSurface(server: server, resource: resource)
            }
        case WL_COMPOSITOR_CREATE_REGION:
            Resources.create(client: request.client, interface: cw_wl_region_interface(), version: 1, id: request.newID(0)) { _ in
                WlRegion()
            }
        default: break
        }
    }
}
