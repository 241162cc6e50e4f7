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
        switch Int32(request.opcode) {
        case WL_REGION_DESTROY:
            wl_resource_destroy(request.resource)
        case WL_REGION_ADD:
            region.formUnion(Rect(x: request.int(0), y: request.int(1), width: request.int(2), height: request.int(3)))
        case WL_REGION_SUBTRACT:
            region.subtract(Rect(x: request.int(0), y: request.int(1), width: request.int(2), height: request.int(3)))
        default: break
        }
    }
}
