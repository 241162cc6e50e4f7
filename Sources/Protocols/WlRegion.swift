import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `wl_region`: a client-built region, copied into surface state when used.
package final class WlRegion: ResourceHandler {
    package private(set) var region = Region()

    package func handle(_ request: Request) {
        switch WlRegionRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .add(x, y, width, height)?:
            region.formUnion(Rect(x: x, y: y, width: width, height: height))
        case let .subtract(x, y, width, height)?:
            region.subtract(Rect(x: x, y: y, width: width, height: height))
        case nil: break
        }
    }
}
