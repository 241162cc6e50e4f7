import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wl_subcompositor`: gives a wl_surface the sub-surface role under a parent surface.
package final class WlSubcompositor: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: CompositorState

    package init(state: CompositorState) { self.state = state }

    package static func bind(_ state: CompositorState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_subcompositor_interface(), version: version, id: id) { _ in
            WlSubcompositor(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch WlSubcompositorRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .getSubsurface(id, surfaceResource, parentResource)?:
            guard let surface = Resources.object(surfaceResource, as: WlSurface.self)?.surface,
                  let parent = Resources.object(parentResource, as: WlSurface.self)?.surface else { return }
            let bad = WlSubcompositorError.badSurface
            if surface === parent {
                return state.context.post(bad, on: request.resource, "wl_surface@\(surface.id) cannot be its own parent")
            }
            if parent.hasAncestor(surface) {
                return state.context.post(bad, on: request.resource,
                                        "wl_surface@\(parent.id) is a descendant of wl_surface@\(surface.id): the tree would loop")
            }
            if surface.subsurface != nil {
                return state.context.post(bad, on: request.resource, "wl_surface@\(surface.id) already is a sub-surface")
            }
            guard surface.assignRole("wl_subsurface") else {
                return state.context.post(bad, on: request.resource,
                                        "wl_surface@\(surface.id) already has the role \(surface.roleName ?? "?")")
            }
            Resources.create(client: request.client, interface: cw_wl_subsurface_interface(), version: 1, id: id) { r in
                WlSubsurface(state: state, surface: surface, parent: parent)
            }
        case nil: break
        }
    }
}
