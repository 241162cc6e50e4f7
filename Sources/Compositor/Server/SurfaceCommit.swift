import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Applying a surface's state: what `wl_surface.commit` does, and what a parent's commit does to
/// its synchronized sub-surfaces' cached state (wl_subsurface spec).
extension Server {
    /// `wl_surface.commit`: a synchronized sub-surface caches the pending state; any other surface
    /// applies it (on top of a cache left from synchronized mode).
    package func commit(_ surface: Surface) {
        if let sub = surface.subsurface, sub.isSynchronized {
            var cache = surface.cached ?? SurfaceState()
            discardPresentationFeedbacks(of: &cache)  // replaced before it was ever shown (as Weston)
            // Committed again: in use, so a release still waiting for the frame must not go out.
            if case let .attached(b?) = surface.pending.attachment { b.releasePending = false }
            releaseReplacedInCache(surface, cache.merge(surface.pending))
            surface.cached = cache
            surface.pending = SurfaceState()
            return
        }
        applyState(surface, includingPending: true)
    }

    /// Applies the cached state (and the pending state for a commit) to `surface`, then the
    /// parent-applied state of its children: positions, stacking order, and their caches.
    package func applyState(_ surface: Surface, includingPending: Bool) {
        var state = SurfaceState<Buffer>()
        if includingPending && surface.cached == nil {
            // Nothing cached (every surface but a synchronized sub-surface): the pending state is
            // the state, taken whole instead of merged into an empty one.
            swap(&state, &surface.pending)
        } else {
            if let cache = surface.cached {
                state = cache
                surface.cached = nil
            }
            if includingPending {
                discardPresentationFeedbacks(of: &state)  // the cached content is replaced unseen
                releaseReplacedInCache(surface, state.merge(surface.pending))
                surface.pending = SurfaceState()
            }
        }
        if case let .attached(buffer?) = state.attachment { attachedForLatch(surface, buffer) }
        let previous = surface.current.buffer
        var result: CommitResult<Buffer>!
        let structural = scene.updateIfNeeded(surface) {
            result = surface.current.apply(&state) { ($0.width, $0.height) }
            var structural = result.geometryChanged
            if !surface.pendingStack.elementsEqual(surface.currentStack, by: StackItem.same) {
                surface.currentStack = surface.pendingStack
                structural = true
            }
            for child in surface.currentChildren {
                if child.applyPosition() { structural = true }
            }
            return structural
        }
        if let replaced = result.replacedBuffer {
            // Latched by a frame: released with the next one. Never latched: at once.
            if surface.bufferSinceFrame == framesRun { releaseUnlatched(replaced) } else { releaseAfterFrame(replaced) }
        }
        if surface.current.buffer !== previous { surface.bufferSinceFrame = framesRun }
        // Attached again before its release went out: it is in use, not released.
        surface.current.buffer?.releasePending = false
        // The role may map, move or unmap the surface (each of which damages what it changes).
        surface.role?.committed(surface, result)
        // After the role: a surface's first buffer is mapped now, on the output whose frames
        // pace its callbacks and feedback.
        queueFrameCallbacks(result.frameCallbacks, of: surface)
        // The emptied array goes back to the pending state: the next frame request appends
        // without allocating.
        if surface.pending.frameCallbacks.isEmpty {
            var spare = result.frameCallbacks
            result.frameCallbacks = []
            spare.removeAll(keepingCapacity: true)
            surface.pending.frameCallbacks = spare
        }
        queuePresentationFeedbacks(surface, result.presentationFeedbacks)
        if !structural { scene.addSurfaceDamage(surface, result.damage) }
        for child in surface.currentChildren {
            if let c = child.surface, c.cached != nil { applyState(c, includingPending: false) }
        }
    }
}

extension Server {
    /// A buffer a newer commit replaced in a synchronized sub-surface's cache was never shown:
    /// released at once, unless it is the current buffer too (released when that is replaced).
    fileprivate func releaseReplacedInCache(_ surface: Surface, _ replaced: Buffer?) {
        guard let replaced, replaced !== surface.current.buffer else { return }
        releaseUnlatched(replaced)
    }
}
