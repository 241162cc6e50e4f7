import Buffers
import Glibc
import SurfaceModel

/// A `wl_surface.commit` held back until its dma-buf is ready (issue 16, item 3), or queued
/// behind one that is: a surface's commits apply in order, each once its own dma-buf polls
/// ready and the sub-surface commits it depends on have been applied.
package final class HeldCommit {
    /// The pending state as it was at the commit, taken whole.
    package var state: SurfaceState<Buffer>
    /// The fence wait of this commit's dma-buf; nil once ready (or when it had none).
    package var wait: DmabufWait?
    /// Held commits of synchronized descendants made before this one: a parent's commit applies
    /// their cached state, so it waits for them to reach the cache first.
    package var dependencies: [HeldCommit]
    /// Applied (or dropped): nothing waits for it any more.
    package var isDone = false
    /// Its dma-buf missed the deadline: never applied (its client is being disconnected).
    package var failed = false
    /// The parent state this commit applies to its sub-surfaces (wl_subsurface: stacking order
    /// and positions set before it), taken at the commit so that requests made while it is held
    /// wait for the next commit.
    package var stack: [StackItem]
    package var positions: [(subsurface: Subsurface, position: (x: Int32, y: Int32)?)]
    /// CLOCK_MONOTONIC ms at the commit, for the log.
    package let heldAtMs: UInt64

    package init(state: SurfaceState<Buffer>, dependencies: [HeldCommit], parentStateOf surface: Surface) {
        self.state = state
        self.dependencies = dependencies
        stack = surface.pendingStack
        positions = surface.pendingStack.compactMap { item in
            guard case let .child(sub) = item else { return nil }
            defer { sub.parentPendingPosition = nil }
            return (sub, sub.parentPendingPosition)
        }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        heldAtMs = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    package var isReady: Bool { wait == nil && !failed && dependencies.allSatisfy(\.isDone) }
}
