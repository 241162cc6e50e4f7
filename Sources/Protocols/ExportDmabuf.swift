import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `zwlr_export_dmabuf_manager_v1`: hands a consumer the output's next frame by fd, zero-copy.
package final class ExportDmabufManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: CaptureState

    package init(state: CaptureState) { self.state = state }

    package static func bind(_ state: CaptureState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwlr_export_dmabuf_manager_v1_interface(), version: version, id: id) { _ in
            ExportDmabufManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwlrExportDmabufManagerV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .captureOutput(frame, _, output)?:  // no cursor to overlay
            let state = state.state(for: output)
            guard let r = Resources.create(client: request.client, interface: cw_zwlr_export_dmabuf_frame_v1_interface(),
                                           version: 1, id: frame, handler: { r in ExportDmabufFrame(state: state, resource: r) })
            else { return }
            (Resources.handler(of: r) as? ExportDmabufFrame)?.start()
        case nil: break
        }
    }
}

/// `zwlr_export_dmabuf_frame_v1`: waits for the next composited frame, then sends frame, object
/// and ready with the front buffer's dma-buf, and holds that buffer (the compositor draws
/// elsewhere) until the consumer destroys the frame. Cancelled `permanent` when the output is not
/// a dma-buf (memfd backend) or goes away.
package final class ExportDmabufFrame: ResourceHandler, FrameObserver {
    private let state: CaptureState
    private var resource: OpaquePointer?
    private var held: Framebuffer?
    private var finished = false

    package init(state: CaptureState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func start() {
        guard state.output.backend.isDmabuf else {
            state.context.logger.info("export-dmabuf cancelled: the output is a memfd, not a dma-buf")
            return cancel(ZWLR_EXPORT_DMABUF_FRAME_V1_CANCEL_REASON_PERMANENT)
        }
        state.frames.observeFrames(self)
    }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        guard let resource, !finished, let export = frame.front.export else { return false }
        finished = true
        frame.front.holds += 1
        held = frame.front
        let modifier = export.modifier
        zwlr_export_dmabuf_frame_v1_send_frame(resource, UInt32(frame.front.width), UInt32(frame.front.height), 0, 0, 0, 0,
                                               state.output.backend.fourcc, UInt32(modifier >> 32), UInt32(modifier & 0xFFFF_FFFF), 1)
        zwlr_export_dmabuf_frame_v1_send_object(resource, 0, export.fd, UInt32(export.size), export.offset, export.stride, 0)
        let seconds = frame.presentedNs / 1_000_000_000
        zwlr_export_dmabuf_frame_v1_send_ready(resource, UInt32(seconds >> 32), UInt32(seconds & 0xFFFF_FFFF),
                                               UInt32(frame.presentedNs % 1_000_000_000))
        return false
    }

    package func outputGone() {
        if !finished { cancel(ZWLR_EXPORT_DMABUF_FRAME_V1_CANCEL_REASON_PERMANENT) }
    }

    private func cancel(_ reason: zwlr_export_dmabuf_frame_v1_cancel_reason) {
        finished = true
        if let resource { zwlr_export_dmabuf_frame_v1_send_cancel(resource, reason.rawValue) }
    }

    package func handle(_ request: Request) {
        if case .destroy? = ZwlrExportDmabufFrameV1Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        resource = nil
        finished = true
        held?.holds -= 1
        held = nil
    }
}
