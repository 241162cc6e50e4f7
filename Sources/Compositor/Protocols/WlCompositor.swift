import CWayland

/// `wl_compositor`: the factory for surfaces and regions.
final class WlCompositor: ResourceHandler {
    /// Version 6 (preferred_buffer_scale/transform) through compositord's own tables
    /// (protocol/core): libwayland 1.21's stop at 5.
    static let version: UInt32 = 6
    private unowned let server: Server

    init(server: Server) { self.server = server }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_compositor_v6(), version: version, id: id) { _ in
            WlCompositor(server: server)
        }
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WL_COMPOSITOR_CREATE_SURFACE:
            let id = request.newID(0)
            guard let surface = Resources.create(client: request.client, interface: cw_wl_surface_v6(), version: request.version, id: id, handler: { resource in
                WlSurface(server: server, resource: resource)
            }) else { return }
            if request.version >= 6 {
                // The headless output has scale 1 and no transform.
                var scale = wl_argument(i: 1), transform = wl_argument(u: 0)
                wl_resource_post_event_array(surface, WlSurface.preferredBufferScaleEvent, &scale)
                wl_resource_post_event_array(surface, WlSurface.preferredBufferTransformEvent, &transform)
            }
        case WL_COMPOSITOR_CREATE_REGION:
            Resources.create(client: request.client, interface: cw_wl_region_interface(), version: 1, id: request.newID(0)) { _ in
                WlRegion()
            }
        default: break
        }
    }
}
