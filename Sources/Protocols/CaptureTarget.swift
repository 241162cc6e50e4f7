import Buffers
import CWayland
import Glibc
import Outputs
import SceneGraph
import SurfaceModel

/// Where a capture's pixels go (`zwlr_screencopy_frame_v1`, `ext_image_copy_capture_frame_v1`):
/// a client's wl_shm buffer or its linear dma-buf, written from a region of the output's front
/// buffer. One writer for both protocols: the mapping kept with the pool (WritableMapping), the
/// dma-buf SYNC bracket, and for pools that are not shared memory the write off the main thread
/// (PoolWriter).
package enum CaptureTarget {
    case shm(ShmBuffer)
    case dmabuf(DmabufBuffer)

    /// The buffer if it is a `width`×`height` XRGB8888 or ARGB8888 wl_shm buffer (with `stride`
    /// when the protocol named one), or where `dmabuf` allows, such a dma-buf.
    package static func accept(_ contents: ClientBuffer, width: Int32, height: Int32, stride: Int32?, dmabuf: Bool) -> CaptureTarget? {
        guard contents.width == width, contents.height == height else { return nil }
        if let shm = contents as? ShmBuffer, shm.format == .xrgb8888 || shm.format == .argb8888,
           stride.map({ shm.layout.stride == $0 }) ?? (shm.layout.stride >= width * 4) {
            return .shm(shm)
        }
        if dmabuf, let d = contents as? DmabufBuffer, d.format == .xrgb8888 || d.format == .argb8888 {
            return .dmabuf(d)
        }
        return nil
    }

    package var width: Int32 {
        switch self {
        case let .shm(b): b.width
        case let .dmabuf(b): b.width
        }
    }

    package var height: Int32 {
        switch self {
        case let .shm(b): b.height
        case let .dmabuf(b): b.height
        }
    }

    /// A dma-buf target with fences on it (a reader's or a writer's): writing now would wait for
    /// them (DMA_BUF_IOCTL_SYNC), so the copy waits in the event loop first (`ready(false)` at
    /// the deadline). Nil when there is nothing to wait for.
    package func waitUntilWritable(_ state: CaptureState, _ ready: @escaping (Bool) -> Void) -> DmabufWait? {
        guard case let .dmabuf(d) = self, !DmabufReadiness.isReady(d.dmabufFd, for: .write) else { return nil }
        return DmabufWait.start(loop: state.loop, fds: [d.dmabufFd], access: .write, deadlineMs: state.fenceDeadlineMs,
                                exportSyncFile: state.exportSyncFile, completion: ready)
    }

    /// Why a copy was not made.
    package enum Failure {
        /// The client shrank its pool file under the target while compositord wrote it (SIGBUS,
        /// caught by the guard): the client's fault, answered like a read that faults.
        case shrunk
        /// Anything else (the client may try again): why, for the log.
        case other(String)
    }

    /// Copies `rects` (in the buffer's coordinates) of the region whose top left is `origin` in
    /// `pixels`, then calls `done(nil)`, or `done(failure)` when it could not: at once, or from the
    /// event loop when the pool's file is written off the main thread. Returns that write while it
    /// runs (cancel it when the frame goes).
    package func write(_ rects: [Rect], from pixels: CapturePixels, at origin: (x: Int32, y: Int32), loop: OpaquePointer,
                       done: @escaping (_ failure: Failure?) -> Void) -> PoolWriter.PendingWrite? {
        let (left, top) = (Int(origin.x) * 4, Int(origin.y))
        let source = { (row: Int) in UnsafeRawPointer(pixels.data + (top + row) * pixels.stride + left) }
        if case let .shm(b) = self, b.pool.writesOffThread {
            // Not shared memory (a disk file): staged here, written by the pool's writer thread.
            var job = PoolWriter.Job(offset: b.layout.offset, stride: Int(b.layout.stride))
            _ = pixels.access {
                for r in rects { job.add(x: Int(r.x), y: Int(r.y), width: Int(r.width), height: Int(r.height), source: source) }
                return true
            }
            guard let writer = b.pool.offThreadWriter else { done(.other("no descriptor left to write the pool's file with")); return nil }
            return writer.write(job, loop: loop) { ok in
                done(ok ? nil : .other(writer.stalled ? "writing the pool's file missed its \(PoolWriter.deadlineMs) ms deadline"
                                                      : "writing the pool's file failed"))
            }
        }
        let ok = rects.isEmpty || pixels.access {
            switch self {
            case let .shm(b):
                return b.pool.write { base in Self.copy(rects, into: base + b.layout.offset, stride: Int(b.layout.stride), from: source) }
            case let .dmabuf(b):
                return b.write { base in Self.copy(rects, into: base + b.planeOffset, stride: b.planeStride, from: source) }
            }
        }
        if ok { done(nil); return nil }
        switch self {
        case let .shm(b) where b.pool.captureFaulted:
            done(.shrunk)
        case let .dmabuf(d) where !DmabufReadiness.isReady(d.dmabufFd, for: .write):
            done(.other("a fence was added to the target after the copy request (writing would wait for it)"))
        default:
            done(.other("the write faulted or the buffer cannot be mapped writable (F_SEAL_WRITE?)"))
        }
        return nil
    }

    private static func copy(_ rects: [Rect], into base: UnsafeMutableRawPointer, stride: Int, from source: (Int) -> UnsafeRawPointer) {
        for r in rects {
            let (x, width) = (Int(r.x) * 4, Int(r.width) * 4)
            for y in Int(r.y)..<Int(r.y + r.height) { memcpy(base + y * stride + x, source(y) + x, width) }
        }
    }
}

/// Pixels a capture copies from: the output's front buffer (read inside its CPU-access bracket,
/// a dma-buf's SYNC), or an image compositord rendered for the capture (a window on its own).
package struct CapturePixels {
    package let data: UnsafeMutableRawPointer
    package let stride: Int
    /// Runs a read of `data` (inside the buffer's CPU-access bracket, where it has one).
    package let access: (() -> Bool) -> Bool

    package static func front(_ framebuffer: Framebuffer) -> CapturePixels {
        CapturePixels(data: framebuffer.data, stride: Int(framebuffer.stride)) { body in framebuffer.withCPUAccess(write: false, body) }
    }

    package static func image(_ data: UnsafeMutableRawPointer, stride: Int) -> CapturePixels {
        CapturePixels(data: data, stride: stride) { body in body() }
    }
}

/// The output damage one capture consumer has not been told about yet (a screencopy manager, an
/// ext-image-copy-capture session), and the damage history that brings a target buffer from the
/// frame it holds to the current one. Observes every frame from the first copy on, until `stop`.
package final class CaptureDamage: FrameObserver {
    private unowned let frames: FrameSource
    /// The area captured now, in output coordinates (a window's moves with it).
    private let bounds: () -> Rect
    /// Output damage since the last copy; nil before the first copy (everything counts as damaged).
    package private(set) var sinceLastCopy: Region?
    private var history = DamageHistory()
    private var alive = true

    package init(frames: FrameSource, bounds: @escaping () -> Rect) {
        self.frames = frames
        self.bounds = bounds
    }

    /// A copy is being made: tracking starts afresh (and starts at all, at the first copy).
    /// Returns the damage it takes over, which `copyFailed` gives back.
    package func copying() -> Region {
        if sinceLastCopy == nil { frames.observeFrames(self) }
        defer { sinceLastCopy = Region() }
        return sinceLastCopy ?? Region(bounds())
    }

    /// The copy failed: its damage is still to be reported, with what came since.
    package func copyFailed(_ damage: Region) {
        sinceLastCopy?.formUnion(damage)
    }

    /// The rectangles of `region` (in its own coordinates) that `buffer` needs for `frame`: only
    /// what changed since the frame it holds, or all of it when that is unknown.
    package func rects(for buffer: Buffer?, region: Rect, frame: FrameInfo) -> [Rect] {
        if let held = buffer?.capturedFrame, held.region == region {
            history.record(frame.sequence, frame.damage)  // this frame may not have reached us yet
            if let changed = history.damage(after: held.sequence, through: frame.sequence) {
                return changed.intersection(region).translated(dx: -region.x, dy: -region.y).rects
            }
        }
        return [Rect(x: 0, y: 0, width: region.width, height: region.height)]
    }

    /// Stops observing frames (the consumer is gone).
    package func stop() { alive = false }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        sinceLastCopy?.formUnion(frame.damage)
        history.record(frame.sequence, frame.damage)
        return alive
    }

    package func outputGone() {}
}
