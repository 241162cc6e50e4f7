import Buffers
import CPixman
import CWayland
import Outputs
import Render
import SceneGraph
import SurfaceModel
import WaylandCore

/// `ext_image_copy_capture_manager_v1` (wayland-protocols 1.37, the standard successor of
/// wlr-screencopy): sessions that copy a capture source into client buffers, frame after frame.
package final class ImageCopyCaptureManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: CaptureState

    package init(state: CaptureState) { self.state = state }

    package static func bind(_ state: CaptureState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_ext_image_copy_capture_manager_v1_interface(), version: version, id: id) { _ in
            ImageCopyCaptureManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ExtImageCopyCaptureManagerV1Request(request) {
        case let .createSession(id, sourceResource, options)?:
            let known = EXT_IMAGE_COPY_CAPTURE_MANAGER_V1_OPTIONS_PAINT_CURSORS.rawValue
            guard options & ~known == 0 else {
                return state.context.post(ExtImageCopyCaptureManagerV1Error.invalidOption, on: request.resource,
                                          "options 0x\(String(options, radix: 16)) has bits other than paint_cursors (1)")
            }
            guard let source = ImageCaptureSource.source(sourceResource) else { return }
            // The session follows its source: an output's frames and damage, or the layout's.
            let sessionState: CaptureState
            switch source.kind {
            case let .output(output): sessionState = state.state(of: output)
            case .toplevel: sessionState = state.toplevelState
            }
            ImageCopyCaptureSession.create(state: sessionState, client: request.client, version: request.version, id: id, source: source)
        case let .createPointerCursorSession(id, sourceResource, _)?:
            guard let source = ImageCaptureSource.source(sourceResource) else { return }
            Resources.create(client: request.client, interface: cw_ext_image_copy_capture_cursor_session_v1_interface(),
                             version: request.version, id: id) { _ in ImageCopyCaptureCursorSession(state: state, source: source) }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `ext_image_copy_capture_session_v1`: announces the buffer constraints (the source's size,
/// XRGB8888/ARGB8888 wl_shm buffers, linear dma-bufs), then makes one frame at a time. Keeps
/// the damage since its last ready frame (what each frame reports) and the history a target
/// buffer catches up from, so a buffer that holds an earlier frame gets only what changed.
package final class ImageCopyCaptureSession: ResourceHandler {
    private let state: CaptureState
    private var resource: OpaquePointer?
    package let source: ImageCaptureSource
    package let damage: CaptureDamage
    /// The frame object alive now (at most one: duplicate_frame); cleared when it is destroyed.
    private var frame: ImageCopyCaptureFrame?
    /// `stopped` was sent: frames fail with `stopped`.
    package private(set) var stopped = false
    /// The buffer size the last constraints named.
    private var announcedSize: (width: Int32, height: Int32) = (0, 0)
    /// A toplevel source is rendered on its own into this (made at the first frame, remade when
    /// the window's size changes), with a transparent background.
    private var canvas: Canvas?
    private let renderer = PixmanRenderer(background: 0)

    private init(state: CaptureState, resource: OpaquePointer, source: ImageCaptureSource) {
        self.state = state
        self.resource = resource
        self.source = source
        damage = CaptureDamage(frames: state.frames) { source.region }
    }

    /// A session with its constraints sent; `stopped` at once when `neverProduces` (a cursor
    /// session: compositord draws no cursor).
    @discardableResult
    package static func create(state: CaptureState, client: OpaquePointer, version: UInt32, id: UInt32, source: ImageCaptureSource,
                               neverProduces: Bool = false) -> ImageCopyCaptureSession? {
        guard let r = Resources.create(client: client, interface: cw_ext_image_copy_capture_session_v1_interface(), version: version, id: id,
                                       handler: { r in ImageCopyCaptureSession(state: state, resource: r, source: source) }),
              let session = Resources.handler(of: r) as? ImageCopyCaptureSession else { return nil }
        if neverProduces { session.stop(); return session }
        if case let .toplevel(handle, toplevels) = source.kind {
            // A window's session ends with the window (unmapped or destroyed).
            toplevels.whenGone(handle.toplevel) { [weak session] in session?.stop() }
            if session.stopped { return session }
        }
        session.sendConstraints()
        return session
    }

    private func sendConstraints() {
        guard let resource else { return }
        let size = source.region
        announcedSize = (size.width, size.height)
        ext_image_copy_capture_session_v1_send_buffer_size(resource, UInt32(size.width), UInt32(size.height))
        ext_image_copy_capture_session_v1_send_shm_format(resource, WL_SHM_FORMAT_XRGB8888.rawValue)
        ext_image_copy_capture_session_v1_send_shm_format(resource, WL_SHM_FORMAT_ARGB8888.rawValue)
        // Linear dma-bufs (udmabuf, a dma-heap, a dumb buffer): compositord writes them with the CPU.
        // The device is named only where there is one (no /dev/dri: no DRM node to allocate on).
        var device = DrmNodes.mainDevice()
        if device != 0 {
            withUnsafeMutableBytes(of: &device) { bytes in
                var array = wl_array(size: bytes.count, alloc: bytes.count, data: bytes.baseAddress)
                ext_image_copy_capture_session_v1_send_dmabuf_device(resource, &array)
            }
        }
        for format in [PixelFormat.xrgb8888, .argb8888] {
            var modifiers: [UInt64] = [0]  // DRM_FORMAT_MOD_LINEAR
            modifiers.withUnsafeMutableBytes { bytes in
                var array = wl_array(size: bytes.count, alloc: bytes.count, data: bytes.baseAddress)
                ext_image_copy_capture_session_v1_send_dmabuf_format(resource, format.drmFourcc, &array)
            }
        }
        ext_image_copy_capture_session_v1_send_done(resource)
    }

    /// The source's size now; when it differs from what the constraints said (a window was
    /// resized), the constraints are sent again and nil says the frame's buffer cannot fit.
    func currentRegion() -> Rect? {
        let region = source.region
        guard !region.isEmpty else { return nil }
        if (region.width, region.height) != announcedSize {
            sendConstraints()
            return nil
        }
        return region
    }

    /// A toplevel source's pixels for `rects` (in its own coordinates): its surface tree rendered
    /// on its own, only where `rects` say. Nil for an output source (its pixels are the frame's).
    func renderToplevel(_ rects: [Rect], size: Rect) -> CapturePixels? {
        guard let (root, dx, dy) = source.toplevelRoot else { return nil }
        if canvas.map({ $0.width != size.width || $0.height != size.height }) ?? true {
            canvas = Canvas(width: size.width, height: size.height)
        }
        guard let canvas else { return nil }
        var damage = Region()
        for r in rects { damage.formUnion(r) }
        renderer.render(surfaces: { body in Scene.forEachSurface(inTreeOf: root) { s, x, y in body(s, x - dx, y - dy) } },
                        into: canvas.image, damage: damage)
        return .image(canvas.data, stride: canvas.stride)
    }

    /// A pixman image compositord owns (a window rendered for a capture).
    private final class Canvas {
        let image: OpaquePointer
        let width: Int32, height: Int32
        var data: UnsafeMutableRawPointer { UnsafeMutableRawPointer(pixman_image_get_data(image)!) }
        var stride: Int { Int(pixman_image_get_stride(image)) }
        init?(width: Int32, height: Int32) {
            guard width > 0, height > 0, let image = pixman_image_create_bits(PIXMAN_a8r8g8b8, width, height, nil, 0) else { return nil }
            self.image = image
            self.width = width
            self.height = height
        }
        deinit { pixman_image_unref(image) }
    }

    /// The source is gone or will never produce: `stopped`, and a waiting frame fails.
    package func stop() {
        guard !stopped else { return }
        stopped = true
        damage.stop()
        if let resource { ext_image_copy_capture_session_v1_send_stopped(resource) }
        frame?.sessionStopped()
    }

    package func handle(_ request: Request) {
        switch ExtImageCopyCaptureSessionV1Request(request) {
        case let .createFrame(id)?:
            guard frame == nil else {
                return state.context.post(ExtImageCopyCaptureSessionV1Error.duplicateFrame, on: request.resource,
                                          "create_frame before the previous frame was destroyed: destroy it after ready or failed")
            }
            guard let r = Resources.create(client: request.client, interface: cw_ext_image_copy_capture_frame_v1_interface(),
                                           version: request.version, id: id,
                                           handler: { r in ImageCopyCaptureFrame(state: state, session: self, resource: r) }) else { return }
            frame = Resources.handler(of: r) as? ImageCopyCaptureFrame
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    /// The client destroyed the frame: it may create the next.
    func frameDestroyed(_ destroyed: ImageCopyCaptureFrame) {
        if frame === destroyed { frame = nil }
    }

    package func resourceDestroyed() {
        resource = nil
        damage.stop()  // frames made by the session stay usable (the spec): they hold the session
    }
}

/// `ext_image_copy_capture_frame_v1`: a buffer attached, its damage, `capture`; then at the next
/// frame with damage (at once for a session's first) the copy, and `transform`, `damage`,
/// `presentation_time`, `ready`, or `failed` with its reason.
package final class ImageCopyCaptureFrame: ResourceHandler, FrameObserver {
    private let state: CaptureState
    private let session: ImageCopyCaptureSession
    private var resource: OpaquePointer?
    private var buffer: Buffer?
    /// What the client says changed in the buffer since it was last captured (damage_buffer).
    private var bufferDamage = Region()
    private var captured = false
    private var target: CaptureTarget?
    private var targetWait: DmabufWait?
    private var pendingWrite: PoolWriter.PendingWrite?
    private var unreportedDamage: Region?

    init(state: CaptureState, session: ImageCopyCaptureSession, resource: OpaquePointer) {
        self.state = state
        self.session = session
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ExtImageCopyCaptureFrameV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .attachBuffer(bufferResource)?:
            guard !captured else { return alreadyCaptured(request, "attach_buffer") }
            buffer = WlBuffer.buffer(bufferResource)
        case let .damageBuffer(x, y, width, height)?:
            guard !captured else { return alreadyCaptured(request, "damage_buffer") }
            guard x >= 0, y >= 0, width > 0, height > 0 else {
                return state.context.post(ExtImageCopyCaptureFrameV1Error.invalidBufferDamage, on: request.resource,
                                          "damage_buffer(\(x), \(y), \(width), \(height)): x and y must not be negative, width and height must be positive")
            }
            bufferDamage.formUnion(Rect(x: x, y: y, width: width, height: height))
        case .capture?:
            guard !captured else { return alreadyCaptured(request, "capture") }
            guard let buffer else {
                return state.context.post(ExtImageCopyCaptureFrameV1Error.noBuffer, on: request.resource,
                                          "capture without a buffer: attach_buffer first")
            }
            captured = true
            capture(buffer)
        case nil: break
        }
    }

    private func alreadyCaptured(_ request: Request, _ what: String) {
        state.context.post(ExtImageCopyCaptureFrameV1Error.alreadyCaptured, on: request.resource,
                           "\(what) after capture: a frame captures once; create a new frame")
    }

    private func capture(_ buffer: Buffer) {
        guard !session.stopped else { return failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED) }
        guard let size = session.currentRegion(),
              let accepted = CaptureTarget.accept(buffer.contents, width: size.width, height: size.height, stride: nil, dmabuf: true) else {
            // Not a protocol error: constraints may have changed since the buffer was made.
            return failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS)
        }
        target = accepted
        targetWait = accepted.waitUntilWritable(state) { [unowned self] ready in
            targetWait = nil
            if ready { state.frames.observeFrames(self) } else { failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_UNKNOWN, "the target dma-buf was not ready at the fence deadline") }
        }
        if targetWait == nil { state.frames.observeFrames(self) }
    }

    package func frameComposited(_ frame: FrameInfo) -> Bool {
        guard resource != nil, let target, !session.stopped else { return false }
        guard let region = session.currentRegion(), region.width == target.width, region.height == target.height else {
            failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_BUFFER_CONSTRAINTS)  // resized since the capture request
            return false
        }
        let tracker = session.damage
        let first = tracker.sinceLastCopy == nil
        let damage = tracker.sinceLastCopy.map { $0.intersection(region) } ?? Region(region)
        if !first && damage.isEmpty { return true }  // "may wait … for the source content to change"
        // What the buffer lacks: the changes since the frame it holds (all of it if unknown), and
        // whatever the client says it scribbled on.
        var rects = Region()
        for r in tracker.rects(for: buffer, region: region, frame: frame) { rects.formUnion(r) }
        rects.formUnion(bufferDamage.intersection(Rect(x: 0, y: 0, width: region.width, height: region.height)))
        buffer?.capturedFrame = nil  // unknown until this copy has succeeded
        unreportedDamage = tracker.copying()
        let (sequence, presentedNs) = (frame.sequence, frame.presentedNs)
        let toplevel = session.renderToplevel(rects.rects, size: region)
        let (pixels, origin) = toplevel.map { ($0, (Int32(0), Int32(0))) } ?? (.front(frame.front), (region.x, region.y))
        pendingWrite = target.write(rects.rects, from: pixels, at: origin, loop: state.loop) { [unowned self] failure in
            pendingWrite = nil
            switch failure {
            case nil: break
            case .shrunk?:
                // The client shrank the target's pool file under the copy: as for a read that faults.
                if let resource = buffer?.resource {
                    state.context.post(WlShmError.invalidFd, on: resource,
                                       "the pool's file shrank below the capture target while compositord wrote it: seal it with F_SEAL_SHRINK, never truncate it")
                }
                return cancel()
            case let .other(why)?:
                return failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_UNKNOWN, why)
            }
            ready(sequence: sequence, presentedNs: presentedNs, damage: damage.translated(dx: -region.x, dy: -region.y))
        }
        return false
    }

    private func ready(sequence: UInt64, presentedNs: UInt64, damage: Region) {
        unreportedDamage = nil
        target = nil
        guard let resource else { return }
        buffer?.capturedFrame = (sequence, session.source.region)
        ext_image_copy_capture_frame_v1_send_transform(resource, UInt32(WL_OUTPUT_TRANSFORM_NORMAL.rawValue))
        for r in damage.rects {
            ext_image_copy_capture_frame_v1_send_damage(resource, r.x, r.y, r.width, r.height)
        }
        let seconds = presentedNs / 1_000_000_000
        ext_image_copy_capture_frame_v1_send_presentation_time(resource, UInt32(seconds >> 32), UInt32(seconds & 0xFFFF_FFFF),
                                                               UInt32(presentedNs % 1_000_000_000))
        ext_image_copy_capture_frame_v1_send_ready(resource)
    }

    private func failed(_ reason: ext_image_copy_capture_frame_v1_failure_reason, _ why: String? = nil) {
        if let unreportedDamage { session.damage.copyFailed(unreportedDamage) }
        unreportedDamage = nil
        cancel()
        guard let resource else { return }
        if let why {
            state.context.logger.warning("image copy capture failed", metadata: [
                "client": "\(state.context.describe(wl_resource_get_client(resource)))", "reason": "\(why)",
            ])
        }
        ext_image_copy_capture_frame_v1_send_failed(resource, reason.rawValue)
    }

    /// The session stopped while this frame waited.
    func sessionStopped() {
        if captured && target != nil { failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED) }
    }

    package func outputGone() {
        if target != nil { failed(EXT_IMAGE_COPY_CAPTURE_FRAME_V1_FAILURE_REASON_STOPPED) }
    }

    package func resourceDestroyed() {
        resource = nil
        // Destroyed before its ready: the damage it took is still to be reported.
        if let unreportedDamage { session.damage.copyFailed(unreportedDamage) }
        unreportedDamage = nil
        cancel()
        session.frameDestroyed(self)
    }

    private func cancel() {
        target = nil
        targetWait?.cancel()
        targetWait = nil
        pendingWrite?.cancel()
        pendingWrite = nil
    }
}

/// `ext_image_copy_capture_cursor_session_v1`: compositord is headless and draws no cursor into
/// what it captures, so a cursor never enters the captured area and the capture session it hands
/// out is `stopped` at once.
package final class ImageCopyCaptureCursorSession: ResourceHandler {
    private let state: CaptureState
    private let source: ImageCaptureSource
    private var sessionMade = false

    init(state: CaptureState, source: ImageCaptureSource) {
        self.state = state
        self.source = source
    }

    package func handle(_ request: Request) {
        switch ExtImageCopyCaptureCursorSessionV1Request(request) {
        case let .getCaptureSession(id)?:
            guard !sessionMade else {
                return state.context.post(ExtImageCopyCaptureCursorSessionV1Error.duplicateSession, on: request.resource,
                                          "get_capture_session was already sent on this cursor session")
            }
            sessionMade = true
            ImageCopyCaptureSession.create(state: state, client: request.client, version: request.version, id: id, source: source,
                                           neverProduces: true)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}
