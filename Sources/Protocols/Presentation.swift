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

