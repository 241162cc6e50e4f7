import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wp_viewporter`: hands out one wp_viewport per surface.
package final class Viewporter: ResourceHandler {
    package static let version: UInt32 = 1
    private unowned let context: ProtocolContext

    package init(context: ProtocolContext) { self.context = context }

    package static func bind(_ context: ProtocolContext, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wp_viewporter_interface(), version: version, id: id) { _ in
            Viewporter(context: context)
        }
    }

    package func handle(_ request: Request) {
        switch WpViewporterRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .getViewport(id, surfaceResource)?:
            guard let wlSurface = Resources.object(surfaceResource, as: WlSurface.self) else { return }
            let surface = wlSurface.surface
            if wlSurface.viewport != nil {
                return context.post(WpViewporterError.viewportExists, on: request.resource,
                                        "wl_surface@\(surface.id) already has a wp_viewport")
            }
            Resources.create(client: request.client, interface: cw_wp_viewport_interface(), version: 1, id: id) { r in
                let viewport = Viewport(context: context, resource: r, surface: wlSurface)
                wlSurface.viewport = viewport
                return viewport
            }
        case nil: break
        }
    }
}
