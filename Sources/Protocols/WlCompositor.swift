import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wl_compositor`: the factory for surfaces and regions.
package final class WlCompositor: ResourceHandler {
    /// Version 6 (preferred_buffer_scale/transform) through compositord's own tables
    /// (protocol/core): libwayland 1.21's stop at 5.
    package static let version: UInt32 = 6
    private let state: CompositorState

    package init(state: CompositorState) { self.state = state }

    package static func bind(_ state: CompositorState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_compositor_v6(), version: version, id: id) { _ in
            WlCompositor(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch WlCompositorRequest(request) {
        case let .createSurface(id)?:
            // No preferred_buffer_scale/transform events: the headless output's preference is the
            // protocol's default (scale 1, normal), which holds until an event says otherwise. Not
            // sending them also keeps clients built against libwayland 1.21 working when they bind
            // the advertised version with v5 tables (weston-simple-damage does).
            Resources.create(client: request.client, interface: cw_wl_surface_v6(), version: request.version, id: id) { resource in
                WlSurface(state: state, resource: resource)
            }
        case let .createRegion(id)?:
            Resources.create(client: request.client, interface: cw_wl_region_interface(), version: 1, id: id) { _ in
                WlRegion()
            }
        case nil: break
        }
    }
}
