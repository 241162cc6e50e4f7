import Buffers
import CWayland

/// `wp_viewporter`: hands out one wp_viewport per surface.
final class Viewporter: ResourceHandler {
    static let version: UInt32 = 1
    private unowned let context: ProtocolContext

    init(context: ProtocolContext) { self.context = context }

    static func bind(_ context: ProtocolContext, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wp_viewporter_interface(), version: version, id: id) { _ in
            Viewporter(context: context)
        }
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WP_VIEWPORTER_DESTROY:
            wl_resource_destroy(request.resource)
        case WP_VIEWPORTER_GET_VIEWPORT:
            guard let surface = Resources.object(request.object(1), as: WlSurface.self)?.surface else { return }
            if surface.viewport != nil {
                return context.post(WpViewporterError.viewportExists, on: request.resource,
                                        "wl_surface@\(surface.id) already has a wp_viewport")
            }
            Resources.create(client: request.client, interface: cw_wp_viewport_interface(), version: 1, id: request.newID(0)) { r in
                let viewport = Viewport(context: context, resource: r, surface: surface)
                surface.viewport = viewport
                return viewport
            }
        default: break
        }
    }
}
