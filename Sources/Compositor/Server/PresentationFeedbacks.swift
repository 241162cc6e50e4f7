import Buffers
import SurfaceModel
import CWayland
import Glibc
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// wp_presentation on the server side: queueing committed feedback and presenting it with the frame.
extension Server {
    /// A commit made `feedbacks` (possibly none) the feedback of the surface's new content: the
    /// feedback still waiting for the content this commit replaces is discarded (as Weston does),
    /// and a frame is scheduled even if the commit damaged nothing, so feedback always resolves.
    package func queuePresentationFeedbacks(_ surface: Surface, _ feedbacks: [any PresentationFeedbackObject]) {
        if presentationFeedbacks.committed(surface, feedbacks) {
            frameClock.schedule()
        }
    }

    /// Discards the feedback `state` carries: its content will never be shown.
    package func discardPresentationFeedbacks(of state: inout SurfaceState<Buffer>) {
        for feedback in state.presentationFeedbacks { feedback.discard() }
        state.presentationFeedbacks = []
    }

    /// After a frame became the front buffer: feedback of content on the output is presented.
    package func presentFeedbacks(atNs ns: UInt64) {
        let period = frameClock.period
        let frame = PresentedFrame(timeNs: ns, refreshNs: UInt32(clamping: period),
                                   sequence: period > 0 ? frameClock.msc : 0)
        presentationFeedbacks.present(frame, outputs: outputState.bound.map { ($0.client, $0.resource) }) { [scene] surface in
            Self.isOnOutput(surface, scene: scene)
        }
    }

    /// Whether `surface`'s current content is part of the output image: mapped (a sub-surface
    /// only with its parent) and inside the output. Like Weston, a surface counts as presented
    /// when it is on the repainted output even if its damage was hidden or it is occluded: the
    /// content is what the output shows for it.
    private static func isOnOutput(_ surface: Surface, scene: Scene) -> Bool {
        guard surface.resource != nil, let origin = surface.outputOrigin else { return false }
        let frame = Rect(x: origin.x, y: origin.y, width: surface.width, height: surface.height)
        return !Region(frame).intersection(scene.bounds).isEmpty
    }
}
