import Buffers
import SurfaceModel
import CWayland
import Glibc
import SceneGraph
import Outputs
import WaylandCore

/// `zwlr_screencopy_manager_v1` v3: copies the output (or a region) into a client's wl_shm buffer.
/// The manager remembers the output damage since its last copy, for `copy_with_damage`.
package final class ScreencopyManager: ResourceHandler, FrameObserver {
    package static let version: UInt32 = 3
    private let state: CaptureState
    private var alive = true
    /// Output damage since the last copy through this manager; nil before the first copy
    /// (then everything counts as damaged).
    package var damageSinceLastCopy: Region?
    /// The damage of each frame seen since the first copy: what brings a target buffer from the
    /// frame it holds to the current one.
    private var history = DamageHistory()

    package init(state: CaptureState) { self.state = state }

    package static func bind(_ state: CaptureState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwlr_screencopy_manager_v1_interface(), version: version, id: id) { _ in
            ScreencopyManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwlrScreencopyManagerV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .captureOutput(frame, _, output)?:  // no cursor to overlay
            let m = manager(for: output)
            m.capture(request, frame: frame, region: m.state.output.bounds)
        case let .captureOutputRegion(frame, _, output, x, y, width, height)?:
            let m = manager(for: output)
            let r = Rect(x: x, y: y, width: width, height: height)
            m.capture(request, frame: frame, region: Region(r).intersection(m.state.output.bounds).extents)
        case nil: break
        }
    }

    /// Damage is tracked per output: the bound manager keeps one of these for each output it
    /// captured (the first output's is itself), with that output's capture state.
    private var perOutput: [ObjectIdentifier: ScreencopyManager] = [:]

    private func manager(for wlOutput: OpaquePointer) -> ScreencopyManager {
        let target = state.state(for: wlOutput)
        if target === state { return self }
        if let m = perOutput[ObjectIdentifier(target)] { return m }
        let m = ScreencopyManager(state: target)
        perOutput[ObjectIdentifier(target)] = m
        return m
    }

    private func capture(_ request: Request, frame: UInt32, region: Rect) {
        guard let r = Resources.create(client: request.client, interface: cw_zwlr_screencopy_frame_v1_interface(),
                                       version: request.version, id: frame,
                                       handler: { r in ScreencopyFrame(state: state, manager: self, resource: r, region: region) })
        else { return }
        (Resources.handler(of: r) as? ScreencopyFrame)?.advertise()
    }

    /// Starts tracking damage once a copy has happened.
    package func copied() {
        if damageSinceLastCopy == nil { state.frames.observeFrames(self) }
        damageSinceLastCopy = Region()
    }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        damageSinceLastCopy?.formUnion(frame.damage)
        history.record(frame.sequence, frame.damage)
        return alive
    }

    /// What changed between frame `since` (what a target buffer holds) and `frame` (about to be
    /// copied into it), or nil when this manager did not see every frame in between (then the
    /// whole region is copied).
    package func damage(since: UInt64, upTo frame: FrameInfo) -> Region? {
        history.record(frame.sequence, frame.damage)  // this frame may not have reached the manager yet
        return history.damage(after: since, through: frame.sequence)
    }

    package func outputGone() {}

    package func resourceDestroyed() {
        alive = false
        for m in perOutput.values { m.alive = false }
    }
}

/// `zwlr_screencopy_frame_v1`: advertises the layouts it accepts (a wl_shm XRGB8888 buffer with the
/// given stride; since v3 also a linear XRGB8888 dma-buf), then on `copy` waits for the next frame
/// (with damage, for `copy_with_damage`) and writes it.
package final class ScreencopyFrame: ResourceHandler, FrameObserver {
    private let state: CaptureState
    private let manager: ScreencopyManager
    private var resource: OpaquePointer?
    private let region: Rect
    /// Where the copy goes: a row writer into the client's buffer (the shm pool or the dma-buf).
    private var target: Target?
    /// The target's scene buffer, which remembers the frame it last received.
    private var targetBuffer: Buffer?

    private enum Target {
        case shm(ShmBuffer)
        case dmabuf(DmabufBuffer)

        /// Writes the pixels of `rects` (in the buffer's coordinates) from `source`, which gives
        /// the address of the captured region's row `y`; false if the buffer could not be written.
        package func write(_ rects: [Rect], source: (Int) -> UnsafeRawPointer) -> Bool {
            switch self {
            case let .shm(b):
                return b.pool.write { base in Target.copy(rects, into: base + b.layout.offset, stride: Int(b.layout.stride), from: source) }
            case let .dmabuf(b):
                return b.write { base in Target.copy(rects, into: base + b.planeOffset, stride: b.planeStride, from: source) }
            }
        }

        private static func copy(_ rects: [Rect], into base: UnsafeMutableRawPointer, stride: Int, from source: (Int) -> UnsafeRawPointer) {
            for r in rects {
                let (x, width) = (Int(r.x) * 4, Int(r.width) * 4)
                for y in Int(r.y)..<Int(r.y + r.height) { memcpy(base + y * stride + x, source(y) + x, width) }
            }
        }
    }
    private var withDamage = false
    private var used = false
    /// A dma-buf target's fences being waited for before the copy is scheduled (never blocking).
    private var targetWait: DmabufWait?
    private var stride: Int32 { region.width * 4 }

    package init(state: CaptureState, manager: ScreencopyManager, resource: OpaquePointer, region: Rect) {
        self.state = state
        self.manager = manager
        self.resource = resource
        self.region = region
    }

    package func advertise() {
        guard let resource else { return }
        guard !region.isEmpty else { return zwlr_screencopy_frame_v1_send_failed(resource) }
        zwlr_screencopy_frame_v1_send_buffer(resource, WL_SHM_FORMAT_XRGB8888.rawValue, UInt32(region.width), UInt32(region.height), UInt32(stride))
        if wl_resource_get_version(resource) >= 3 {
            zwlr_screencopy_frame_v1_send_linux_dmabuf(resource, PixelFormat.xrgb8888.drmFourcc, UInt32(region.width), UInt32(region.height))
            zwlr_screencopy_frame_v1_send_buffer_done(resource)
        }
    }

    package func handle(_ request: Request) {
        switch ZwlrScreencopyFrameV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .copy(buffer)?:
            copy(request, buffer, withDamage: false)
        case let .copyWithDamage(buffer)?:
            copy(request, buffer, withDamage: true)
        case nil: break
        }
    }

    /// copy and copy_with_damage: checks the buffer against what was advertised, then waits for
    /// the next frame (and first for the target's fences, for a dma-buf).
    private func copy(_ request: Request, _ bufferResource: OpaquePointer, withDamage: Bool) {
        guard !used else {
            return state.context.post(ZwlrScreencopyFrameV1Error.alreadyUsed, on: request.resource,
                                    "copy was already requested on this frame")
        }
        used = true
        guard let buffer = WlBuffer.buffer(bufferResource), let accepted = accept(buffer.contents) else {
            return state.context.post(ZwlrScreencopyFrameV1Error.invalidBuffer, on: request.resource,
                                    "the buffer must be a wl_shm XRGB8888 \(region.width)x\(region.height) buffer with stride \(stride), or a linear XRGB8888 dma-buf of that size, as advertised")
        }
        target = accepted
        targetBuffer = buffer
        self.withDamage = withDamage
        if case let .dmabuf(d) = accepted, !DmabufReadiness.isReady(d.dmabufFd, for: .write) {
            // Fences on the target (a reader's or a writer's): writing now would wait for them
            // (DMA_BUF_IOCTL_SYNC). The copy waits in the event loop instead, and fails at the
            // deadline.
            targetWait = DmabufWait.start(loop: state.loop, fds: [d.dmabufFd], access: .write,
                                          deadlineMs: state.fenceDeadlineMs,
                                          exportSyncFile: state.exportSyncFile) { [unowned self] ready in
                self.targetWait = nil
                self.targetReady(ready)
            }
            if targetWait != nil { return }
        }
        state.frames.observeFrames(self)
    }

    /// The dma-buf target's fences signalled (the copy goes ahead at the next frame), or the
    /// deadline passed (`failed`).
    private func targetReady(_ ready: Bool) {
        guard let resource, target != nil else { return }
        if ready { return state.frames.observeFrames(self) }
        state.context.logger.warning("screencopy target dma-buf not ready at the deadline: the copy failed", metadata: [
            "client": "\(state.context.describe(wl_resource_get_client(resource)))", "deadline-ms": "\(state.fenceDeadlineMs)",
        ])
        target = nil
        zwlr_screencopy_frame_v1_send_failed(resource)
    }

    /// The buffer if it matches what was advertised.
    private func accept(_ contents: ClientBuffer) -> Target? {
        guard contents.width == region.width, contents.height == region.height else { return nil }
        if let shm = contents as? ShmBuffer, shm.format == .xrgb8888 || shm.format == .argb8888, shm.layout.stride == stride {
            return .shm(shm)
        }
        if let dmabuf = contents as? DmabufBuffer, dmabuf.format == .xrgb8888 || dmabuf.format == .argb8888,
           resource.map({ wl_resource_get_version($0) >= 3 }) == true {
            return .dmabuf(dmabuf)
        }
        return nil
    }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        guard let resource, let target else { return false }
        var damage = manager.damageSinceLastCopy.map { $0.intersection(region) } ?? Region(region)
        if withDamage && damage.isEmpty { return true }  // wait for something to change
        let fb = frame.front
        // A target that holds an earlier frame of this region gets only what changed since.
        let whole = Rect(x: 0, y: 0, width: region.width, height: region.height)
        var rects = [whole]
        if let held = targetBuffer?.capturedFrame, held.region == region,
           let changed = manager.damage(since: held.sequence, upTo: frame) {
            rects = changed.intersection(region).translated(dx: -region.x, dy: -region.y).rects
        }
        targetBuffer?.capturedFrame = nil  // unknown until this copy has succeeded
        let ok = rects.isEmpty || fb.withCPUAccess(write: false) {
            target.write(rects) { row in
                UnsafeRawPointer(fb.data + (Int(region.y) + row) * Int(fb.stride) + Int(region.x) * 4)
            }
        }
        guard ok else {
            var why = "the write faulted or the buffer cannot be mapped writable"
            if case let .dmabuf(d) = target, !DmabufReadiness.isReady(d.dmabufFd, for: .write) {
                why = "a fence was added to the target after the copy request (writing would wait for it)"
            }
            state.context.logger.warning("screencopy failed", metadata: [
                "client": "\(state.context.describe(wl_resource_get_client(resource)))", "reason": "\(why)",
            ])
            zwlr_screencopy_frame_v1_send_failed(resource)
            return false
        }
        targetBuffer?.capturedFrame = (frame.sequence, region)
        manager.copied()
        zwlr_screencopy_frame_v1_send_flags(resource, 0)
        if withDamage {
            damage.translate(dx: -region.x, dy: -region.y)
            for r in damage.rects {
                zwlr_screencopy_frame_v1_send_damage(resource, UInt32(r.x), UInt32(r.y), UInt32(r.width), UInt32(r.height))
            }
        }
        let seconds = frame.presentedNs / 1_000_000_000
        zwlr_screencopy_frame_v1_send_ready(resource, UInt32(seconds >> 32), UInt32(seconds & 0xFFFF_FFFF), UInt32(frame.presentedNs % 1_000_000_000))
        self.target = nil
        targetBuffer = nil
        return false
    }

    package func outputGone() {
        if let resource, target != nil { zwlr_screencopy_frame_v1_send_failed(resource) }
        target = nil
        targetWait?.cancel()
        targetWait = nil
    }

    package func resourceDestroyed() {
        resource = nil
        target = nil
        targetBuffer = nil
        targetWait?.cancel()
        targetWait = nil
    }
}
