import Buffers
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore
import CWayland

/// Where capture consumers get frames from: `observeFrames` calls an observer after every frame
/// until it says stop, and makes sure a frame comes (the server's frame loop).
package protocol FrameSource: AnyObject {
    func observeFrames(_ observer: FrameObserver)
}

/// The capture family's state (zwlr_export_dmabuf_manager_v1, zwlr_screencopy_manager_v1) for one
/// output: the output, its frames, the event loop a fenced screencopy target waits in, and the
/// fence deadline. Each output has its own; `forOutput` finds the one a request's wl_output names.
package final class CaptureState {
    package unowned let context: ProtocolContext
    package unowned let frames: FrameSource
    package let output: Output
    package let loop: OpaquePointer
    package let fenceDeadlineMs: Int32
    /// `--fence-wait auto`: fences snapshotted with DMA_BUF_IOCTL_EXPORT_SYNC_FILE.
    package let exportSyncFile: Bool
    /// The capture state of an output (set by the compositor).
    package var forOutput: (Output) -> CaptureState? = { _ in nil }
    /// The capture state of window captures: the layout's frames (set by the compositor).
    package var forToplevels: () -> CaptureState? = { nil }

    package init(context: ProtocolContext, frames: FrameSource, output: Output, loop: OpaquePointer, fenceDeadlineMs: Int32, exportSyncFile: Bool) {
        self.context = context
        self.frames = frames
        self.output = output
        self.loop = loop
        self.fenceDeadlineMs = fenceDeadlineMs
        self.exportSyncFile = exportSyncFile
    }
}

extension CaptureState {
    /// The capture state of the output `wlOutput` names; this one when it names none of ours
    /// (outputs are never removed yet, so that does not happen).
    package func state(for wlOutput: OpaquePointer) -> CaptureState { WlOutput.output(of: wlOutput).flatMap(forOutput) ?? self }

    /// The capture state of `output`.
    package func state(of output: Output) -> CaptureState { forOutput(output) ?? self }

    /// The capture state of toplevel sources, whose frames come from the whole layout.
    package var toplevelState: CaptureState { forToplevels() ?? self }
}
