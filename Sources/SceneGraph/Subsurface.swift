import Buffers
import SurfaceModel

/// Where a sub-surface hangs in its parent's tree (wl_subsurface spec): its position relative
/// to the parent's origin, its synchronized mode, and the pending position the parent's next
/// state application makes current. The `wl_subsurface` object (Protocols) drives it; the
/// scene walks it.
package final class Subsurface {
    /// Strong, not weak (no side tables on the per-commit path): `unlink` cuts both links and the
    /// parent's stack entries, when the wl_subsurface, its surface or its parent is destroyed.
    package private(set) var surface: Surface?
    package private(set) var parent: Surface?
    /// Current position relative to the parent's origin.
    package private(set) var x: Int32 = 0, y: Int32 = 0
    /// set_position since the parent's last state application (parent state, double-buffered).
    private var pendingPosition: (x: Int32, y: Int32)?
    /// set_sync / set_desync; synchronized by default.
    package var sync = true

    /// Links `surface` below `parent`: "a new sub-surface is initially added as the top-most in
    /// the stack of its siblings and parent", both in the pending and the current order.
    package init(surface: Surface, parent: Surface, in scene: Scene) {
        self.surface = surface
        self.parent = parent
        surface.subsurface = self
        parent.pendingStack.append(.child(self))
        parent.currentStack.append(.child(self))
        scene.refreshMapping(surface)
    }

    /// Synchronized by itself or through any ancestor.
    package var isSynchronized: Bool {
        sync || (parent?.subsurface?.isSynchronized ?? false)
    }

    /// wl_subsurface.set_position: applied with the parent's next state.
    package func setPosition(x: Int32, y: Int32) { pendingPosition = (x, y) }

    /// The pending position, taken out (a parent's held commit keeps it until it applies) or put
    /// back (`HeldCommits`): what the parent's next state application makes current.
    package var parentPendingPosition: (x: Int32, y: Int32)? {
        get { pendingPosition }
        set { pendingPosition = newValue }
    }

    /// The parent's state is being applied: the pending position becomes current. True if it moved.
    package func applyPosition() -> Bool {
        guard let p = pendingPosition else { return false }
        pendingPosition = nil
        defer { (x, y) = p }
        return p.x != x || p.y != y
    }

    /// place_above / place_below: moves this sub-surface next to `reference` (the parent or a
    /// sibling) in the parent's pending stack. False when `reference` is neither.
    package func place(relativeTo reference: Surface, above: Bool) -> Bool {
        guard let parent else { return true }
        let item: StackItem
        if reference === parent {
            item = .this
        } else if let sibling = reference.subsurface, sibling !== self, sibling.parent === parent {
            item = .child(sibling)
        } else {
            return false
        }
        parent.pendingStack.removeAll { $0.is(self) }
        guard let i = parent.pendingStack.firstIndex(where: { StackItem.same($0, item) }) else { return true }
        parent.pendingStack.insert(.child(self), at: above ? i + 1 : i)
        return true
    }

    /// Takes the surface out of its parent's tree (the wl_subsurface, the surface or the parent
    /// is gone); `change` runs inside the scene update (the role object lets go there). Returns
    /// the surface it held, nil when already unlinked.
    @discardableResult
    package func unlink(in scene: Scene, _ change: (Surface) -> Void = { _ in }) -> Surface? {
        guard let surface else { return nil }
        scene.update(surface) {
            parent?.pendingStack.removeAll { $0.is(self) }
            parent?.currentStack.removeAll { $0.is(self) }
            if surface.subsurface === self { surface.subsurface = nil }
            change(surface)
        }
        parent = nil
        self.surface = nil
        return surface
    }
}
