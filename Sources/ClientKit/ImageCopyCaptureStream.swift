import CWayland

/// An `ext-image-copy-capture-v1` consumer of an output (the standard successor of screencopy):
/// `ext_output_image_capture_source_manager_v1.create_source` for the output, one session, and
/// frame after frame into one `wl_shm` buffer of the session's constraints. Use it from the
/// connection's thread.
///
/// Each `next` creates a frame, attaches the buffer, damages it (the whole buffer the first time,
/// then what the caller says it changed), captures, and waits for `ready` or `failed`. After the
/// session's first frame the compositor may hold `ready` until the output changes.
public final class ImageCopyCaptureStream {
    public let connection: Connection
    public let registry: Registry
    public let outputList: OutputList
    public let output: Output
    private let poolFile: (Int) throws -> AnonymousFile
    private let shm: Shm
    private let sourceManager: OpaquePointer
    private let manager: OpaquePointer
    /// The toplevel list, when the source is a window.
    public let toplevels: ForeignToplevelList?
    private let source: OpaquePointer
    private let session: Session
    private var pool: ShmPool?
    private var buffer: ShmBuffer?
    private var framesCaptured = 0

    /// The session's latest constraints.
    public struct Constraints: Sendable, Equatable {
        public var width = 0, height = 0
        /// wl_shm format codes (0 ARGB8888, 1 XRGB8888).
        public var shmFormats: [UInt32] = []
        public var dmabufDevice: Bool = false
        /// DRM fourccs offered for dma-bufs, with their modifiers.
        public var dmabufFormats: [UInt32: [UInt64]] = [:]
    }

    /// What one `next` ended with.
    public enum Outcome: Sendable, Equatable {
        /// `ready`, with the frame's `transform`, `damage` and `presentation_time`.
        case ready(transform: UInt32, damage: [CaptureRect], timestamp: CaptureTimestamp?)
        /// `failed(reason)`: 0 unknown, 1 buffer_constraints, 2 stopped.
        case failed(reason: UInt32)
    }

    public var constraints: Constraints { session.constraints }
    /// The session was `stopped`.
    public var stopped: Bool { session.stopped }
    /// The stride of the buffer frames are copied into (width × 4).
    public var stride: Int { constraints.width * 4 }
    /// The buffer's pixels (nil before the first frame). A test may scribble on them.
    public var pixels: UnsafeMutableRawBufferPointer? {
        pool.map { UnsafeMutableRawBufferPointer(start: $0.memory, count: $0.size) }
    }

    /// Binds what it needs, makes the source and the session for output `outputIndex` (or, with
    /// `toplevelAppID`, for the first toplevel of `ext_foreign_toplevel_list_v1` with that app id,
    /// through `ext_foreign_toplevel_image_capture_source_manager_v1`), and waits for the
    /// session's constraints (`done`) or `stopped`. Throws `ClientError.missingGlobal` when the
    /// compositor lacks the protocol (or hides it: `--capture deny`), `CaptureError.noOutput`
    /// when there is no such output or toplevel.
    public init(connection: Connection, outputIndex: Int = 0, toplevelAppID: String? = nil, paintCursors: Bool = false,
                timeout: Duration? = nil, poolFile: ((_ size: Int) throws -> AnonymousFile)? = nil) throws {
        self.connection = connection
        self.poolFile = poolFile ?? { try AnonymousFile(size: $0) }
        registry = Registry(connection: connection)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the registry")
        shm = Shm(connection: connection, proxy: try registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1).proxy)
        if toplevelAppID != nil {
            sourceManager = try registry.bind("ext_foreign_toplevel_image_capture_source_manager_v1",
                                              table: cw_ext_foreign_toplevel_image_capture_source_manager_v1_interface(), maxVersion: 1).proxy
            toplevels = try ForeignToplevelList(registry: registry, timeout: timeout)
        } else {
            sourceManager = try registry.bind("ext_output_image_capture_source_manager_v1",
                                              table: cw_ext_output_image_capture_source_manager_v1_interface(), maxVersion: 1).proxy
            toplevels = nil
        }
        manager = try registry.bind("ext_image_copy_capture_manager_v1", table: cw_ext_image_copy_capture_manager_v1_interface(),
                                    maxVersion: 1).proxy
        outputList = try OutputList(registry: registry, timeout: timeout)
        guard outputList.outputs.indices.contains(outputIndex) else { throw CaptureError.noOutput }
        output = outputList.outputs[outputIndex]
        if let toplevelAppID {
            guard let handle = toplevels?.toplevels.first(where: { $0.appID == toplevelAppID && !$0.closed }) else { throw CaptureError.noOutput }
            source = ext_foreign_toplevel_image_capture_source_manager_v1_create_source(sourceManager, handle.proxy)!
        } else {
            source = ext_output_image_capture_source_manager_v1_create_source(sourceManager, output.proxy)!
        }
        session = Session(ext_image_copy_capture_manager_v1_create_session(manager, source, paintCursors ? 1 : 0)!)
        try connection.wait(timeout: timeout) { [session] in session.done || session.stopped }
            .orThrow(waitingFor: "ext_image_copy_capture_session_v1.done")
    }

    /// Captures one frame into the stream's buffer. `damage` is what the caller changed in the
    /// buffer since its last frame (the whole buffer is damaged for the first frame and after a
    /// new buffer). `timeout` bounds the whole frame. `bufferSize` makes the buffer another size
    /// than the constraints say (a buffer left from before a resize: `failed(buffer_constraints)`).
    public func next(damage: [CaptureRect] = [], timeout: Duration? = nil, bufferSize: (width: Int, height: Int)? = nil) throws -> Outcome {
        var wanted = constraints
        if let bufferSize { (wanted.width, wanted.height) = bufferSize }
        let target = try buffer(for: wanted)
        let frame = Frame(ext_image_copy_capture_session_v1_create_frame(session.proxy)!)
        ext_image_copy_capture_frame_v1_attach_buffer(frame.proxy, target.proxy)
        let whole = framesCaptured == 0 ? [CaptureRect(x: 0, y: 0, width: constraints.width, height: constraints.height)] : damage
        for r in whole {
            ext_image_copy_capture_frame_v1_damage_buffer(frame.proxy, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height))
        }
        ext_image_copy_capture_frame_v1_capture(frame.proxy)
        try connection.wait(timeout: timeout) { frame.outcome != nil }
            .orThrow(waitingFor: "ext_image_copy_capture_frame_v1 ready or failed")
        let outcome = frame.outcome!
        if case .ready = outcome { framesCaptured += 1 }
        return outcome
    }

    /// One frame as a `CapturedFrame` (its pixels read back; `damage` the frame's damage).
    /// Throws `CaptureError.failed` on `failed`.
    public func capturedFrame(timeout: Duration? = nil) throws -> CapturedFrame {
        guard case let .ready(_, damage, timestamp) = try next(timeout: timeout), let pixels, let format = buffer?.format else {
            throw CaptureError.failed
        }
        let image: CapturedImage
        do {
            image = try CapturedImage(xrgb8888: UnsafeRawBufferPointer(pixels), offset: 0, width: constraints.width, height: constraints.height,
                                      stride: stride, yInverted: false)
        } catch {
            throw CaptureError.badFrame("\(error)")
        }
        return CapturedFrame(
            method: .extImageCopyCapture, format: ShmFormatName.fourcc(format.rawValue), modifier: DrmModifier.linear,
            isDmabuf: false, yInverted: false, damage: damage, objects: [], exportFlags: 0, bufferFlags: 0, offsetX: 0, offsetY: 0,
            dmabufOffers: [], timestamp: timestamp ?? CaptureTimestamp(secondsHigh: 0, secondsLow: 0, nanoseconds: 0), image: image)
    }

    /// The one buffer, made (again) when the constraints' size changed.
    private func buffer(for constraints: Constraints) throws -> ShmBuffer {
        if let buffer, buffer.width == constraints.width, buffer.height == constraints.height { return buffer }
        buffer?.destroy()
        pool?.destroyProxy()
        let format = constraints.shmFormats.contains(1) ? ShmFormat.xrgb8888 : .argb8888
        let newPool = try ShmPool(shm: shm, file: try poolFile(constraints.width * 4 * constraints.height))
        let newBuffer = ShmBuffer(pool: newPool, offset: 0, width: constraints.width, height: constraints.height, stride: constraints.width * 4,
                                  format: format)
        pool = newPool
        buffer = newBuffer
        framesCaptured = 0
        return newBuffer
    }

    deinit {
        buffer?.destroy()
        pool?.destroyProxy()
        ext_image_copy_capture_session_v1_destroy(session.proxy)
        ext_image_capture_source_v1_destroy(source)
        ext_image_copy_capture_manager_v1_destroy(manager)
        if toplevels != nil {
            ext_foreign_toplevel_image_capture_source_manager_v1_destroy(sourceManager)
        } else {
            ext_output_image_capture_source_manager_v1_destroy(sourceManager)
        }
    }

    /// `ext_image_copy_capture_session_v1`'s events: the constraints, `done`, `stopped`.
    private final class Session: EventReceiver {
        let proxy: OpaquePointer
        var constraints = Constraints()
        private var pending = Constraints()
        var done = false
        var stopped = false

        init(_ proxy: OpaquePointer) {
            self.proxy = proxy
            routeEvents(of: proxy, to: self)
        }

        func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
            switch opcode {
            case 0: (pending.width, pending.height) = (Int(arguments.uint(0)), Int(arguments.uint(1)))  // buffer_size
            case 1: pending.shmFormats.append(arguments.uint(0))  // shm_format
            case 2: pending.dmabufDevice = true  // dmabuf_device
            case 3:  // dmabuf_format(format, modifiers)
                let bytes = arguments.array(1)
                pending.dmabufFormats[arguments.uint(0)] = Swift.stride(from: 0, to: bytes.count - 7, by: 8).map { i in
                    bytes[i..<(i + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                }
            case 4:  // done: the batch is complete
                constraints = pending
                pending = Constraints()
                done = true
            case 5: stopped = true
            default: break
            }
        }
    }

    /// One `ext_image_copy_capture_frame_v1`: transform, damage, presentation_time, then ready or failed.
    private final class Frame: EventReceiver {
        let proxy: OpaquePointer
        var transform: UInt32 = 0
        var damage: [CaptureRect] = []
        var timestamp: CaptureTimestamp?
        var outcome: Outcome?

        init(_ proxy: OpaquePointer) {
            self.proxy = proxy
            routeEvents(of: proxy, to: self)
        }

        deinit { ext_image_copy_capture_frame_v1_destroy(proxy) }

        func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
            switch opcode {
            case 0: transform = arguments.uint(0)
            case 1:
                damage.append(CaptureRect(x: Int(arguments.int(0)), y: Int(arguments.int(1)),
                                          width: Int(arguments.int(2)), height: Int(arguments.int(3))))
            case 2: timestamp = CaptureTimestamp(secondsHigh: arguments.uint(0), secondsLow: arguments.uint(1), nanoseconds: arguments.uint(2))
            case 3: outcome = .ready(transform: transform, damage: damage, timestamp: timestamp)
            case 4: outcome = .failed(reason: arguments.uint(0))
            default: break
            }
        }
    }
}
