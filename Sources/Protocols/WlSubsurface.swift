import Buffers
import CWayland
import SceneGraph
import SurfaceModel
import WaylandCore
import Outputs

/// `wl_subsurface`: the role of a surface positioned relative to its parent and stacked among
/// its siblings; the tree itself is the scene's `Subsurface`.
///
/// Position and stacking are "parent state": requests change pending values that the parent's
/// next state application makes current. In synchronized mode (the default, and whenever an
/// ancestor is synchronized) the sub-surface's own commits are cached until then.
package final class WlSubsurface: ResourceHandler, SurfaceRole {
    private let state: CompositorState
    package let link: Subsurface

    package init(state: CompositorState, surface: Surface, parent: Surface) {
        self.state = state
        link = Subsurface(surface: surface, parent: parent, in: state.scene)
        surface.role = self
    }

    package func handle(_ request: Request) {
        switch WlSubsurfaceRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .setPosition(x, y)?:
            link.setPosition(x: x, y: y)
        case let .placeAbove(sibling)?:
            place(request, relativeTo: sibling, above: true)
        case let .placeBelow(sibling)?:
            place(request, relativeTo: sibling, above: false)
        case .setSync?:
            link.sync = true
        case .setDesync?:
            link.sync = false
            // Leaving synchronized mode applies what was cached.
            if !link.isSynchronized, let surface = link.surface, surface.cached != nil {
                state.delegate.applyState(surface, includingPending: false)
            }
        case nil: break
        }
    }

    /// place_above/place_below: the reference must be the parent or a sibling, never itself.
    private func place(_ request: Request, relativeTo sibling: OpaquePointer, above: Bool) {
        guard let reference = Resources.object(sibling, as: WlSurface.self)?.surface else { return }
        if !link.place(relativeTo: reference, above: above) {
            state.context.post(WlSubsurfaceError.badSurface, on: request.resource,
                               "wl_surface@\(reference.id) is neither the parent nor a sibling of wl_surface@\(link.surface?.id ?? 0)")
        }
    }

    /// Takes the surface out of its parent's tree; a cache can never be applied now (its buffer
    /// is released, its callbacks dropped).
    private func unlink() {
        let surface = link.unlink(in: state.scene) { surface in
            if surface.role === self { surface.role = nil }
        }
        surface?.dropCache()
    }

    // MARK: SurfaceRole

    package func validateCommit(_ surface: Surface) -> Bool { true }
    package func committed(_ surface: Surface, _ result: CommitResult<Buffer>) {}
    package func surfaceDestroyed(_ surface: Surface) { unlink() }
    /// The parent wl_surface was destroyed: the sub-surface is unmapped until it is gone too.
    package func parentDestroyed() { unlink() }

    package func resourceDestroyed() { unlink() }
}
