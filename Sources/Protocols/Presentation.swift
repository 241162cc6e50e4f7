import Buffers
import CWayland
import Glibc
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wp_presentation` v1: the clock presentation timestamps use, and per-commit feedback objects.
package final class Presentation: ResourceHandler {
    package static let version: UInt32 = 1
    /// The frame clock paces frames and stamps them with CLOCK_MONOTONIC (FrameClock,
    /// `cw_monotonic_ns`); clock_id must name the same clock or the timestamps mean nothing.
    package static let clock = UInt32(CLOCK_MONOTONIC)
    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_wp_presentation_interface(), version: version, id: id, handler: { _ in
            Presentation()
        }) else { return }
        wp_presentation_send_clock_id(r, clock)
    }

    package func handle(_ request: Request) {
        switch WpPresentationRequest(request) {
        case .destroy?:
            // Feedback objects already created live on (the spec ties them to their commit).
            wl_resource_destroy(request.resource)
        case let .feedback(surfaceResource, callback)?:
            guard let surface = Resources.object(surfaceResource, as: WlSurface.self)?.surface else { return }
            Resources.create(client: request.client, interface: cw_wp_presentation_feedback_interface(), version: request.version,
                             id: callback) { r in
                let feedback = PresentationFeedback(resource: r)
                // Like a frame callback: it belongs to the next commit of the surface.
                surface.pending.presentationFeedbacks.append(feedback)
                return feedback
            }
        case nil: break
        }
    }
}

/// What a presented frame tells `wp_presentation_feedback.presented`.
package struct PresentedFrame {
    /// When the frame became the output's front buffer (the frame clock's tick, CLOCK_MONOTONIC).
    package var timeNs: UInt64
    /// ns until the next tick; 0 without a fixed refresh (`--refresh 0`).
    package var refreshNs: UInt32
    /// The output's vblank counter (MSC) at this frame; 0 without a refresh cycle.
    package var sequence: UInt64
    /// Which of wp_presentation_feedback.kind hold. None does here:
    /// - vsync: the ticks are a software timer on a fixed grid, and the spec says "relying on
    ///   software scheduling is not acceptable for this flag" (no display hardware retraces).
    ///   The fixed cycle is still reported, through `refreshNs` and `sequence`.
    /// - hw_clock: the timestamp is a software CLOCK_MONOTONIC reading, not a hardware measurement.
    /// - hw_completion: no hardware signals completion; the timer decides the frame is shown.
    /// - zero_copy: pixman copies every client buffer into the output buffer.
    /// Weston's headless backend and wlroots' headless backend also send 0.
    package var flags: UInt32 = 0

    package init(timeNs: UInt64, refreshNs: UInt32, sequence: UInt64) {
        self.timeNs = timeNs
        self.refreshNs = refreshNs
        self.sequence = sequence
    }
}
