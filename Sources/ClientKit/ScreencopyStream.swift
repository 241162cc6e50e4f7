import CWayland

/// A screencopy consumer that captures frame after frame into one `wl_shm` buffer, as wayvnc
/// does: `capture_output` → (offers) → `copy_with_damage` into the same buffer → `ready` or
/// `failed` → next. The buffer is made at the first frame for the offered layout and replaced
/// only if the layout changes (an output resize). Use it from the connection's thread.
///
/// `copy_with_damage` makes the compositor hold `ready` until the output has damage since the
/// buffer's last frame, so the stream runs at the rate the screen changes.
public final class ScreencopyStream {
    public let connection: Connection
    public let registry: Registry
    public let outputList: OutputList
    public let output: Output
    private let poolFile: (Int) throws -> AnonymousFile
    private let shm: Shm
    private let manager: ScreencopyManager
    private var pool: ShmPool?
    private var buffer: ShmBuffer?

    /// The layout of the buffer frames are copied into (nil before the first frame).
    public private(set) var layout: ScreencopyFrame.ShmOffer?
    /// How many buffers were made: 1 unless the offered layout changed.
    public private(set) var buffersMade = 0
    /// The buffer's pixels (nil before the first frame): what the compositor wrote. A test may
    /// scribble on them to see which parts the next copy overwrites.
    public var pixels: UnsafeMutableRawBufferPointer? {
        pool.map { UnsafeMutableRawBufferPointer(start: $0.memory, count: $0.size) }
    }

    /// The bound `zwlr_screencopy_manager_v1` version (2 or 3).
    public var version: UInt32 { manager.version }

    /// What one `next` ended with.
    public enum Outcome: Sendable, Equatable {
        /// `ready`: the frame's `flags` (1: y_invert) and `damage` rectangles.
        case ready(flags: UInt32, damage: [CaptureRect], timestamp: CaptureTimestamp)
        /// `failed`, at the offers or after the copy.
        case failed
    }

    /// Binds `wl_shm`, `zwlr_screencopy_manager_v1` (version 2 or 3: `copy_with_damage`) and the
    /// outputs; captures `outputIndex` (default the first). Throws `ClientError.missingGlobal`
    /// when the compositor lacks screencopy 2, `CaptureError.noOutput` without outputs.
    /// `poolFile` makes the file of a `size`-byte pool (default: an `AnonymousFile` of the
    /// automatic chain); a test passes a disk file, as wf-recorder's /tmp files are.
    public init(connection: Connection, outputIndex: Int = 0, timeout: Duration? = nil,
                poolFile: ((_ size: Int) throws -> AnonymousFile)? = nil) throws {
        self.connection = connection
        self.poolFile = poolFile ?? { try AnonymousFile(size: $0) }
        registry = Registry(connection: connection)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the registry")
        let boundShm = try registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1)
        shm = Shm(connection: connection, proxy: boundShm.proxy)
        let bound = try registry.bind("zwlr_screencopy_manager_v1", table: cw_zwlr_screencopy_manager_v1_interface(),
                                      minVersion: 2, maxVersion: 3)
        manager = ScreencopyManager(connection: connection, proxy: bound.proxy, version: bound.version)
        outputList = try OutputList(registry: registry, timeout: timeout)
        guard outputList.outputs.indices.contains(outputIndex) else { throw CaptureError.noOutput }
        output = outputList.outputs[outputIndex]
    }

    /// Captures one frame into the stream's buffer and waits for `ready` or `failed`.
    /// `timeout` bounds the whole frame (nil: wait as long as the screen stays still).
    /// Throws `CaptureError.noUsableBuffer` if no XRGB8888/ARGB8888 layout is offered,
    /// `ClientError.timedOut` / `.interrupted`, `ProtocolError`.
    public func next(overlayCursor: Bool = false, timeout: Duration? = nil) throws -> Outcome {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        func remaining() -> Duration? { deadline.map { $0 - clock.now } }

        let frame = StreamFrame(manager: manager, output: output, overlayCursor: overlayCursor)
        try connection.wait(timeout: remaining()) {
            frame.failed || (manager.version >= 3 ? frame.buffersDone : !frame.shmOffers.isEmpty)
        }.orThrow(waitingFor: manager.version >= 3 ? "zwlr_screencopy_frame_v1.buffer_done" : "zwlr_screencopy_frame_v1.buffer")
        if frame.failed { return .failed }

        guard let (offer, format) = ScreencopyFrame.chooseOffer(frame.shmOffers) else {
            throw CaptureError.noUsableBuffer(shmFormats: frame.shmOffers.map(\.format), dmabufFormats: [])
        }
        let target = try buffer(for: offer, format: format)
        frame.copyWithDamage(target)
        try connection.wait(timeout: remaining()) { frame.failed || frame.timestamp != nil }
            .orThrow(waitingFor: "zwlr_screencopy_frame_v1 ready or failed")
        if let timestamp = frame.timestamp {
            return .ready(flags: frame.flags, damage: frame.damage, timestamp: timestamp)
        }
        return .failed
    }

    /// The one buffer, made (again) when the offered layout is not the current one.
    private func buffer(for offer: ScreencopyFrame.ShmOffer, format: ShmFormat) throws -> ShmBuffer {
        if let buffer, layout == offer { return buffer }
        buffer?.destroy()
        pool?.destroyProxy()
        let newPool = try ShmPool(shm: shm, file: try poolFile(offer.stride * offer.height))
        let newBuffer = ShmBuffer(pool: newPool, offset: 0, width: offer.width, height: offer.height, stride: offer.stride, format: format)
        pool = newPool
        buffer = newBuffer
        layout = offer
        buffersMade += 1
        return newBuffer
    }

    deinit {
        buffer?.destroy()
        pool?.destroyProxy()
    }
}

/// One `zwlr_screencopy_frame_v1` of a stream: the offers, then `flags`, `damage`, `ready` or `failed`.
private final class StreamFrame: EventReceiver {
    private let proxy: OpaquePointer
    var shmOffers: [ScreencopyFrame.ShmOffer] = []
    var buffersDone = false
    var flags: UInt32 = 0
    var damage: [CaptureRect] = []
    var timestamp: CaptureTimestamp?
    var failed = false

    init(manager: ScreencopyManager, output: Output, overlayCursor: Bool) {
        proxy = zwlr_screencopy_manager_v1_capture_output(manager.proxy, overlayCursor ? 1 : 0, output.proxy)!
        routeEvents(of: proxy, to: self)
    }

    deinit {
        zwlr_screencopy_frame_v1_destroy(proxy)
    }

    func copyWithDamage(_ buffer: WaylandBuffer) {
        zwlr_screencopy_frame_v1_copy_with_damage(proxy, buffer.proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // buffer(format, width, height, stride)
            shmOffers.append(ScreencopyFrame.ShmOffer(format: arguments.uint(0), width: Int(arguments.uint(1)),
                                                      height: Int(arguments.uint(2)), stride: Int(arguments.uint(3))))
        case 1: flags = arguments.uint(0)
        case 2: // ready(tv_sec_hi, tv_sec_lo, tv_nsec)
            timestamp = CaptureTimestamp(secondsHigh: arguments.uint(0), secondsLow: arguments.uint(1), nanoseconds: arguments.uint(2))
        case 3: failed = true
        case 4: // damage(x, y, width, height)
            damage.append(CaptureRect(x: Int(arguments.uint(0)), y: Int(arguments.uint(1)),
                                      width: Int(arguments.uint(2)), height: Int(arguments.uint(3))))
        case 6: buffersDone = true // buffer_done (version 3); 5 linux_dmabuf offers are not used
        default: break
        }
    }
}
