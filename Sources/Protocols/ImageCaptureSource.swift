import Buffers
import CWayland
import Outputs
import SceneGraph
import SurfaceModel
import WaylandCore

/// `ext_image_capture_source_v1`: an opaque handle on something that can be captured, made by a
/// source manager and used by `ext_image_copy_capture_manager_v1.create_session`.
package final class ImageCaptureSource: ResourceHandler {
    /// What the source shows: an output's whole area, or one toplevel (its surface tree,
    /// rendered on its own: nothing above it, nothing cut off by the output's edge).
    package enum Kind {
        case output(Output)
        case toplevel(ForeignToplevelHandle, ForeignToplevelListState)
    }

    package let kind: Kind

    package init(kind: Kind) { self.kind = kind }

    /// The source behind an `ext_image_capture_source_v1` resource.
    package static func source(_ resource: OpaquePointer) -> ImageCaptureSource? {
        Resources.handler(of: resource) as? ImageCaptureSource
    }

    /// The area captured, in output coordinates: a toplevel's is the extents of its surface
    /// tree where it is now (empty once it is gone).
    package var region: Rect {
        switch kind {
        case let .output(output): return output.bounds
        case let .toplevel(handle, _):
            guard let root = handle.toplevel?.surface, let origin = root.outputOrigin else { return Rect(x: 0, y: 0, width: 0, height: 0) }
            var extents = Region()
            Scene.forEachSurface(inTreeOf: root) { s, x, y in extents.formUnion(Rect(x: x, y: y, width: s.width, height: s.height)) }
            let e = extents.extents
            return Rect(x: e.x + origin.x, y: e.y + origin.y, width: e.width, height: e.height)
        }
    }

    /// The toplevel's root surface and where its tree's extents begin relative to it.
    package var toplevelRoot: (surface: Surface, dx: Int32, dy: Int32)? {
        guard case let .toplevel(handle, _) = kind, let root = handle.toplevel?.surface, let origin = root.outputOrigin else { return nil }
        let r = region
        return (root, r.x - origin.x, r.y - origin.y)
    }

    package func handle(_ request: Request) {
        if case .destroy? = ExtImageCaptureSourceV1Request(request) { wl_resource_destroy(request.resource) }
    }
}

/// `ext_foreign_toplevel_image_capture_source_manager_v1`: a capture source for a toplevel of
/// `ext_foreign_toplevel_list_v1`.
package final class ToplevelImageCaptureSourceManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let toplevels: ForeignToplevelListState

    init(toplevels: ForeignToplevelListState) { self.toplevels = toplevels }

    package static func bind(_ toplevels: ForeignToplevelListState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_ext_foreign_toplevel_image_capture_source_manager_v1_interface(), version: version,
                         id: id) { _ in ToplevelImageCaptureSourceManager(toplevels: toplevels) }
    }

    package func handle(_ request: Request) {
        switch ExtForeignToplevelImageCaptureSourceManagerV1Request(request) {
        case let .createSource(source, handleResource)?:
            // A closed handle still makes a source: its sessions are stopped at once.
            guard let handle = ForeignToplevelHandle.handle(handleResource) else { return }
            let toplevels = self.toplevels
            Resources.create(client: request.client, interface: cw_ext_image_capture_source_v1_interface(), version: request.version,
                             id: source) { _ in ImageCaptureSource(kind: .toplevel(handle, toplevels)) }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
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
