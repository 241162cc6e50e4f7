import Buffers
import CWayland
import Outputs
import SurfaceModel
import WaylandCore

/// `ext_image_capture_source_v1`: an opaque handle on something that can be captured, made by a
/// source manager and used by `ext_image_copy_capture_manager_v1.create_session`.
package final class ImageCaptureSource: ResourceHandler {
    /// What the source shows. An output's whole area today; toplevel sources come with
    /// ext-foreign-toplevel-list.
    package enum Kind {
        case output(Output)
    }

    package let kind: Kind

    package init(kind: Kind) { self.kind = kind }

    /// The source behind an `ext_image_capture_source_v1` resource.
    package static func source(_ resource: OpaquePointer) -> ImageCaptureSource? {
        Resources.handler(of: resource) as? ImageCaptureSource
    }

    /// The area captured, in output coordinates.
    package var region: Rect {
        switch kind {
        case let .output(output): output.bounds
        }
    }

    package func handle(_ request: Request) {
        if case .destroy? = ExtImageCaptureSourceV1Request(request) { wl_resource_destroy(request.resource) }
    }
}

/// `ext_output_image_capture_source_manager_v1`: a capture source for a `wl_output`.
package final class OutputImageCaptureSourceManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: CaptureState

    package init(state: CaptureState) { self.state = state }

    package static func bind(_ state: CaptureState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_ext_output_image_capture_source_manager_v1_interface(), version: version, id: id) { _ in
            OutputImageCaptureSourceManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ExtOutputImageCaptureSourceManagerV1Request(request) {
        case let .createSource(source, wlOutput)?:
            let output = state.state(for: wlOutput).output
            Resources.create(client: request.client, interface: cw_ext_image_capture_source_v1_interface(), version: request.version,
                             id: source) { _ in ImageCaptureSource(kind: .output(output)) }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}
