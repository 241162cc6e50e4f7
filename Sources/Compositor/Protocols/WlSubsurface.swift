import Buffers
import SurfaceModel
import CWayland

/// `wl_subsurface`: a surface positioned relative to its parent and stacked among its siblings.
///
/// Position and stacking are "parent state": requests change pending values that the parent's
/// next state application makes current. In synchronized mode (the default, and whenever an
/// ancestor is synchronized) the sub-surface's own commits are cached until then.
final class Subsurface: ResourceHandler, SurfaceRole {
    private let state: CompositorState
    private let resource: OpaquePointer
    /// Strong, not weak (no side tables on the per-commit path): `unlink` cuts both links and the
    /// parent's stack entries, when this object, its surface or its parent is destroyed.
    private(set) var surface: Surface?
    private(set) var parent: Surface?
    /// Current position relative to the parent's origin, and the pending one.
    private(set) var x: Int32 = 0, y: Int32 = 0
    private var pendingPosition: (x: Int32, y: Int32)?
    private var sync = true

    init(state: CompositorState, resource: OpaquePointer, surface: Surface, parent: Surface) {
        self.state = state
        self.resource = resource
        self.surface = surface
        self.parent = parent
        surface.subsurface = self
        surface.role = self
        // "A new sub-surface is initially added as the top-most in the stack of its siblings and
        // parent", both in the pending and the current order.
        parent.pendingStack.append(.child(self))
        parent.currentStack.append(.child(self))
        state.scene.refreshMapping(surface)
    }

    /// Synchronized by itself or through any ancestor.
    var isSynchronized: Bool {
        sync || (parent?.subsurface?.isSynchronized ?? false)
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WL_SUBSURFACE_DESTROY:
            wl_resource_destroy(request.resource)
        case WL_SUBSURFACE_SET_POSITION:
            pendingPosition = (request.int(0), request.int(1))
        case WL_SUBSURFACE_PLACE_ABOVE, WL_SUBSURFACE_PLACE_BELOW:
            place(request, above: Int32(request.opcode) == WL_SUBSURFACE_PLACE_ABOVE)
        case WL_SUBSURFACE_SET_SYNC:
            sync = true
        case WL_SUBSURFACE_SET_DESYNC:
            sync = false
            // Leaving synchronized mode applies what was cached.
            if !isSynchronized, let surface, surface.cached != nil {
                state.delegate.applyState(surface, includingPending: false)
            }
        default: break
        }
    }

    /// place_above/place_below: the reference must be the parent or a sibling, never itself.
    private func place(_ request: Request, above: Bool) {
        guard let parent, let reference = Resources.object(request.object(0), as: WlSurface.self)?.surface else { return }
        let item: StackItem
        if reference === parent {
            item = .this
        } else if let sibling = reference.subsurface, sibling !== self, sibling.parent === parent {
            item = .child(sibling)
        } else {
            return state.context.post(WlSubsurfaceError.badSurface, on: request.resource,
                                    "wl_surface@\(reference.id) is neither the parent nor a sibling of wl_surface@\(surface?.id ?? 0)")
        }
        parent.pendingStack.removeAll { $0.is(self) }
        guard let i = parent.pendingStack.firstIndex(where: { StackItem.same($0, item) }) else { return }
        parent.pendingStack.insert(.child(self), at: above ? i + 1 : i)
    }

    /// The pending position, taken out (a parent's held commit keeps it until it applies) or put
    /// back (`HeldCommits`): what the parent's next state application makes current.
    var parentPendingPosition: (x: Int32, y: Int32)? {
        get { pendingPosition }
        set { pendingPosition = newValue }
    }

    /// The parent's state is being applied: the pending position becomes current. True if it moved.
    func applyPosition() -> Bool {
        guard let p = pendingPosition else { return false }
        pendingPosition = nil
        defer { (x, y) = p }
        return p.x != x || p.y != y
    }

    /// Takes the surface out of its parent's tree (wl_subsurface destroyed, or the surface).
    private func unlink() {
        guard let surface else { return }
        state.scene.update(surface) {
            parent?.pendingStack.removeAll { $0.is(self) }
            parent?.currentStack.removeAll { $0.is(self) }
            if surface.subsurface === self { surface.subsurface = nil }
            if surface.role === self { surface.role = nil }
        }
        // A cache can never be applied now: release its buffer, drop its callbacks.
        surface.dropCache()
        parent = nil
        self.surface = nil
    }

    /// The parent wl_surface was destroyed: the sub-surface is unmapped until it is gone too.
    func parentDestroyed() {
        unlink()
    }

    // MARK: SurfaceRole

    func validateCommit(_ surface: Surface) -> Bool { true }
    func committed(_ surface: Surface, _ result: CommitResult<Buffer>) {}
    func surfaceDestroyed(_ surface: Surface) { unlink() }

    func resourceDestroyed() { unlink() }
}
