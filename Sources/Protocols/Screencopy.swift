import Buffers
import SurfaceModel
import CWayland
import Glibc
import SceneGraph
import Outputs
import WaylandCore

/// `zwlr_screencopy_manager_v1` v3: copies the output (or a region) into a client's wl_shm buffer.
/// The manager remembers the output damage since its last copy, for `copy_with_damage`.
package final class ScreencopyManager: ResourceHandler {
    package static let version: UInt32 = 3
    private let state: CaptureState
    /// The damage since this manager's last copy, and the history target buffers catch up from.
    package let damage: CaptureDamage

    package init(state: CaptureState) {
        self.state = state
        let output = state.output
        damage = CaptureDamage(frames: state.frames) { output.bounds }
    }

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

    package func resourceDestroyed() {
        damage.stop()
        for m in perOutput.values { m.damage.stop() }
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
    /// Where the copy goes: the client's wl_shm buffer or dma-buf.
    private var target: CaptureTarget?
    /// The target's scene buffer, which remembers the frame it last received.
    private var targetBuffer: Buffer?
    private var withDamage = false
    private var used = false
    /// A dma-buf target's fences being waited for before the copy is scheduled (never blocking).
    private var targetWait: DmabufWait?
    /// A target written off the main thread (a disk file's pool: PoolWriter), while it runs.
    private var pendingWrite: PoolWriter.PendingWrite?
    /// The manager's damage this copy took over: given back if the copy fails.
    private var unreportedDamage: Region?
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
        guard let buffer = WlBuffer.buffer(bufferResource),
              let accepted = CaptureTarget.accept(buffer.contents, width: region.width, height: region.height, stride: stride,
                                                  dmabuf: request.version >= 3) else {
            return state.context.post(ZwlrScreencopyFrameV1Error.invalidBuffer, on: request.resource,
                                    "the buffer must be a wl_shm XRGB8888 \(region.width)x\(region.height) buffer with stride \(stride), or a linear XRGB8888 dma-buf of that size, as advertised")
        }
        target = accepted
        targetBuffer = buffer
        self.withDamage = withDamage
        targetWait = accepted.waitUntilWritable(state) { [unowned self] ready in
            targetWait = nil
            targetReady(ready)
        }
        if targetWait == nil { state.frames.observeFrames(self) }
    }

    /// The dma-buf target's fences signalled (the copy goes ahead at the next frame), or the
    /// deadline passed (`failed`).
    private func targetReady(_ ready: Bool) {
        guard resource != nil, target != nil else { return }
        if ready { return state.frames.observeFrames(self) }
        fail("screencopy target dma-buf not ready at the \(state.fenceDeadlineMs) ms fence deadline")
    }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        guard resource != nil, let target else { return false }
        let damage = manager.damage.sinceLastCopy.map { $0.intersection(region) } ?? Region(region)
        if withDamage && damage.isEmpty { return true }  // wait for something to change
        // A target that holds an earlier frame of this region gets only what changed since.
        let rects = manager.damage.rects(for: targetBuffer, region: region, frame: frame)
        targetBuffer?.capturedFrame = nil  // unknown until this copy has succeeded
        let copied = CopiedFrame(sequence: frame.sequence, presentedNs: frame.presentedNs, damage: withDamage ? damage : nil)
        unreportedDamage = manager.damage.copying()
        pendingWrite = target.write(rects, from: .front(frame.front), at: (region.x, region.y), loop: state.loop) { [unowned self] failure in
            pendingWrite = nil
            switch failure {
            case nil: finish(copied)
            case .shrunk?: targetShrank()
            case let .other(why)?: fail(why)
            }
        }
        return false
    }

    /// What a copy tells its client once the pixels are in the buffer.
    private struct CopiedFrame {
        let sequence: UInt64
        let presentedNs: UInt64
        /// The output damage to report (copy_with_damage), in output coordinates.
        let damage: Region?
    }

    /// The pixels are in the target: flags, damage and ready.
    private func finish(_ frame: CopiedFrame) {
        unreportedDamage = nil
        guard let resource else { return }
        targetBuffer?.capturedFrame = (frame.sequence, region)
        zwlr_screencopy_frame_v1_send_flags(resource, 0)
        if var damage = frame.damage {
            damage.translate(dx: -region.x, dy: -region.y)
            for r in damage.rects {
                zwlr_screencopy_frame_v1_send_damage(resource, UInt32(r.x), UInt32(r.y), UInt32(r.width), UInt32(r.height))
            }
        }
        let seconds = frame.presentedNs / 1_000_000_000
        zwlr_screencopy_frame_v1_send_ready(resource, UInt32(seconds >> 32), UInt32(seconds & 0xFFFF_FFFF), UInt32(frame.presentedNs % 1_000_000_000))
        target = nil
        targetBuffer = nil
    }

    /// The copy could not be made: `failed` (the client may try again with a new frame).
    private func fail(_ why: String) {
        if let unreportedDamage { manager.damage.copyFailed(unreportedDamage) }
        unreportedDamage = nil
        target = nil
        targetBuffer = nil
        guard let resource else { return }
        state.context.logger.warning("screencopy failed", metadata: [
            "client": "\(state.context.describe(wl_resource_get_client(resource)))", "reason": "\(why)",
        ])
        zwlr_screencopy_frame_v1_send_failed(resource)
    }

    /// The client shrank the target's pool file under the copy: wl_shm's invalid_fd on the
    /// buffer, as for a read that faults (the client is disconnected).
    private func targetShrank() {
        if let buffer = targetBuffer?.resource {
            state.context.post(WlShmError.invalidFd, on: buffer,
                               "the pool's file shrank below the screencopy target while compositord wrote it: seal it with F_SEAL_SHRINK, never truncate it")
        }
        cancel()
    }

    package func outputGone() {
        if let resource, target != nil { zwlr_screencopy_frame_v1_send_failed(resource) }
        cancel()
    }

    package func resourceDestroyed() {
        resource = nil
        cancel()
    }

    private func cancel() {
        target = nil
        targetBuffer = nil
        targetWait?.cancel()
        targetWait = nil
        pendingWrite?.cancel()
        pendingWrite = nil
    }
}
