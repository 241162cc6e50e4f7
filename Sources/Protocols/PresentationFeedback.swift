import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// A `wp_presentation_feedback`: resolves once, with `presented` or `discarded`, and is then
/// destroyed by the compositor (both events are destructors; the interface has no requests).
package final class PresentationFeedback: ResourceHandler, PresentationFeedbackObject {
    private var resource: OpaquePointer?

    package init(resource: OpaquePointer) { self.resource = resource }

    /// `sync_output` for each of the client's wl_output resources (the one output is every
    /// surface's main output), then `presented`.
    package func presented(_ frame: PresentedFrame, outputs: [(client: OpaquePointer, resource: OpaquePointer)]) {
        guard let resource else { return }
        let client = wl_resource_get_client(resource)
        for output in outputs where output.client == client {
            wp_presentation_feedback_send_sync_output(resource, output.resource)
        }
        let seconds = frame.timeNs / 1_000_000_000
        wp_presentation_feedback_send_presented(
            resource, UInt32(truncatingIfNeeded: seconds >> 32), UInt32(truncatingIfNeeded: seconds),
            UInt32(frame.timeNs % 1_000_000_000), frame.refreshNs,
            UInt32(truncatingIfNeeded: frame.sequence >> 32), UInt32(truncatingIfNeeded: frame.sequence), frame.flags)
        wl_resource_destroy(resource)
    }

    /// `discarded`: the content was never shown (superseded, surface gone, or not on the output).
    package func discard() {
        guard let resource else { return }
        wp_presentation_feedback_send_discarded(resource)
        wl_resource_destroy(resource)
    }

    package func handle(_ request: Request) {}
    package func resourceDestroyed() { resource = nil }
}

/// Committed feedback waiting for the frame that shows its content, per surface (the server
/// owns one). Only the latest commit of a surface can still be presented.
package final class PresentationFeedbackQueue {
    /// Strong, not weak (no side table on the surface: it is retained on every commit); held
    /// until the next frame at most, and a destroyed surface's feedback is discarded then.
    private struct Waiting {
        package let surface: Surface
        package var feedbacks: [any PresentationFeedbackObject]
    }
    private var waiting: [Waiting] = []

    package init() {}

    /// A commit of `surface` with `feedbacks`: the surface's earlier, still unpresented feedback
    /// is discarded now. Returns whether anything waits for a frame.
    package func committed(_ surface: Surface, _ feedbacks: [any PresentationFeedbackObject]) -> Bool {
        if let i = waiting.firstIndex(where: { $0.surface === surface }) {
            for feedback in waiting[i].feedbacks { feedback.discard() }
            waiting.remove(at: i)
        }
        guard !feedbacks.isEmpty else { return !waiting.isEmpty }
        waiting.append(Waiting(surface: surface, feedbacks: feedbacks))
        return true
    }

    /// An output presented a frame: of the feedback of the surfaces it `presents` (all, by
    /// default), that of surfaces `isOnOutput` says are shown is presented, the rest (destroyed,
    /// unmapped, off the output) is discarded. Feedback of other surfaces waits for their output.
    package func present(_ frame: PresentedFrame, outputs: [(client: OpaquePointer, resource: OpaquePointer)],
                 presents: (Surface) -> Bool = { _ in true }, isOnOutput: (Surface) -> Bool) {
        let resolving = waiting.filter { presents($0.surface) }
        waiting.removeAll { presents($0.surface) }
        for entry in resolving {
            if !entry.surface.isDestroyed, isOnOutput(entry.surface) {
                for feedback in entry.feedbacks { feedback.presented(frame, outputs: outputs) }
            } else {
                for feedback in entry.feedbacks { feedback.discard() }
            }
        }
    }
}
