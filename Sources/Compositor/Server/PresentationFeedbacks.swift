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
            frameOutput(of: surface).frameClock.schedule()
        }
    }

    /// Discards the feedback `state` carries: its content will never be shown.
    package func discardPresentationFeedbacks(of state: inout SurfaceState<Buffer>) {
        for feedback in state.presentationFeedbacks { feedback.discard() }
        state.presentationFeedbacks = []
    }

    /// After a frame of `o` became its front buffer: feedback of the surfaces whose frames `o`
    /// paces (`frameOutput`) is presented with `o`'s clock, refresh and wl_output, or discarded
    /// when the content is not on `o`.
    package func presentFeedbacks(_ o: CompositorOutput, atNs ns: UInt64) {
        let period = o.frameClock.period
        let frame = PresentedFrame(timeNs: ns, refreshNs: UInt32(clamping: period),
                                   sequence: period > 0 ? o.frameClock.msc : 0)
        presentationFeedbacks.present(frame, outputs: o.outputState.bound.map { ($0.client, $0.resource) },
                                      presents: { [unowned self] in frameOutput(of: $0) === o },
                                      isOnOutput: { Self.isOn($0, o) })
    }

    /// The output whose frames pace `surface` (frame callbacks, presentation feedback): the first
    /// it is on, else the first output.
    package func frameOutput(of surface: Surface) -> CompositorOutput {
        let index = surface.outputMask.trailingZeroBitCount  // 64 when on none
        return index < outputs.count ? outputs[index] : outputs[0]
    }

    /// Whether `surface`'s current content is part of `o`'s image: mapped (a sub-surface only
    /// with its parent) and overlapping it. Like Weston, a surface counts as presented when it is
    /// on the repainted output even if its damage was hidden or it is occluded: the content is
    /// what the output shows for it.
    private static func isOn(_ surface: Surface, _ o: CompositorOutput) -> Bool {
        surface.resource != nil && surface.outputOrigin != nil && o.index < 64 && surface.outputMask & (1 << UInt64(o.index)) != 0
    }
}
