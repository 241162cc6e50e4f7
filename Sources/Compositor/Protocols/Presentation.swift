import CWayland
import Glibc

/// `wp_presentation` v1: the clock presentation timestamps use, and per-commit feedback objects.
final class Presentation: ResourceHandler {
    static let version: UInt32 = 1
    /// The frame clock paces frames and stamps them with CLOCK_MONOTONIC (FrameClock,
    /// `cw_monotonic_ns`); clock_id must name the same clock or the timestamps mean nothing.
    static let clock = UInt32(CLOCK_MONOTONIC)
    static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_wp_presentation_interface(), version: version, id: id, handler: { _ in
            Presentation()
        }) else { return }
        wp_presentation_send_clock_id(r, clock)
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WP_PRESENTATION_DESTROY:
            // Feedback objects already created live on (the spec ties them to their commit).
            wl_resource_destroy(request.resource)
        case WP_PRESENTATION_FEEDBACK:
            guard let surface = Resources.object(request.object(0), as: WlSurface.self)?.surface else { return }
            Resources.create(client: request.client, interface: cw_wp_presentation_feedback_interface(), version: request.version,
                             id: request.newID(1)) { r in
                let feedback = PresentationFeedback(resource: r)
                // Like a frame callback: it belongs to the next commit of the surface.
                surface.pending.presentationFeedbacks.append(feedback)
                return feedback
            }
        default: break
        }
    }
}

/// What a presented frame tells `wp_presentation_feedback.presented`.
struct PresentedFrame {
    /// When the frame became the output's front buffer (the frame clock's tick, CLOCK_MONOTONIC).
    var timeNs: UInt64
    /// ns until the next tick; 0 without a fixed refresh (`--refresh 0`).
    var refreshNs: UInt32
    /// The output's vblank counter (MSC) at this frame; 0 without a refresh cycle.
    var sequence: UInt64
    /// Which of wp_presentation_feedback.kind hold. None does here:
    /// - vsync: the ticks are a software timer on a fixed grid, and the spec says "relying on
    ///   software scheduling is not acceptable for this flag" (no display hardware retraces).
    ///   The fixed cycle is still reported, through `refreshNs` and `sequence`.
    /// - hw_clock: the timestamp is a software CLOCK_MONOTONIC reading, not a hardware measurement.
    /// - hw_completion: no hardware signals completion; the timer decides the frame is shown.
    /// - zero_copy: pixman copies every client buffer into the output buffer.
    /// Weston's headless backend and wlroots' headless backend also send 0.
    var flags: UInt32 = 0
}

extension Server {
    /// A commit made `feedbacks` (possibly none) the feedback of the surface's new content: the
    /// feedback still waiting for the content this commit replaces is discarded (as Weston does),
    /// and a frame is scheduled even if the commit damaged nothing, so feedback always resolves.
    func queuePresentationFeedbacks(_ surface: Surface, _ feedbacks: [AnyObject]) {
        if presentationFeedbacks.committed(surface, feedbacks.compactMap { $0 as? PresentationFeedback }) {
            frameClock.schedule()
        }
    }

    /// Discards the feedback `state` carries: its content will never be shown.
    func discardPresentationFeedbacks(of state: inout SurfaceState<Buffer>) {
        for feedback in state.presentationFeedbacks { (feedback as? PresentationFeedback)?.discard() }
        state.presentationFeedbacks = []
    }

    /// After a frame became the front buffer: feedback of content on the output is presented.
    func presentFeedbacks(atNs ns: UInt64) {
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
