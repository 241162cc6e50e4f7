import CWayland

/// The bound `zwlr_screencopy_manager_v1` (version 1 to 3).
final class ScreencopyManager {
    let proxy: OpaquePointer
    let version: UInt32
    /// Kept so the display outlives the proxy (OutputCapture may release its connection first).
    private let connection: Connection

    init(connection: Connection, proxy: OpaquePointer, version: UInt32) {
        self.connection = connection
        self.proxy = proxy
        self.version = version
    }

    deinit {
        zwlr_screencopy_manager_v1_destroy(proxy)
    }
}

/// One `zwlr_screencopy_frame_v1`: the compositor offers buffer layouts (`buffer` for `wl_shm`,
/// `linux_dmabuf` at version 3, then `buffer_done`), the client sends `copy` or
/// `copy_with_damage` with a buffer of one of them, and the compositor answers `flags`,
/// `damage` (with damage only), then `ready` or `failed`.
public final class ScreencopyFrame: EventReceiver {
    /// A `buffer(format, width, height, stride)` offer: a `wl_shm` buffer of that layout.
    public struct ShmOffer: Sendable, Equatable {
        /// A `wl_shm` format code (0 ARGB8888, 1 XRGB8888, else a fourcc).
        public var format: UInt32
        public var width: Int, height: Int, stride: Int

        public init(format: UInt32, width: Int, height: Int, stride: Int) {
            self.format = format
            self.width = width
            self.height = height
            self.stride = stride
        }
    }

    /// A `linux_dmabuf(format, width, height)` offer (version 3).
    public struct DmabufOffer: Sendable, Equatable {
        /// A DRM fourcc.
        public var format: UInt32
        public var width: Int, height: Int

        public init(format: UInt32, width: Int, height: Int) {
            self.format = format
            self.width = width
            self.height = height
        }
    }

    public enum State: Sendable, Equatable {
        case pending
        case ready(CaptureTimestamp)
        case failed
    }

    private var proxy: OpaquePointer?
    let version: UInt32
    public private(set) var shmOffers: [ShmOffer] = []
    public private(set) var dmabufOffers: [DmabufOffer] = []
    /// `buffer_done` arrived (version 3): every offer is known.
    public private(set) var buffersDone = false
    /// `flags` (1: y_invert).
    public private(set) var flags: UInt32 = 0
    public private(set) var damage: [CaptureRect] = []
    public private(set) var state: State = .pending

    /// Sends `capture_output(overlay_cursor, output)`.
    init(manager: ScreencopyManager, output: Output, overlayCursor: Bool) {
        let proxy = zwlr_screencopy_manager_v1_capture_output(manager.proxy, overlayCursor ? 1 : 0, output.proxy)!
        self.proxy = proxy
        self.version = manager.version
        routeEvents(of: proxy, to: self)
    }

    deinit {
        if let proxy { zwlr_screencopy_frame_v1_destroy(proxy) }
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // buffer(format, width, height, stride)
            shmOffers.append(ShmOffer(format: arguments.uint(0), width: Int(arguments.uint(1)),
                                      height: Int(arguments.uint(2)), stride: Int(arguments.uint(3))))
        case 1: flags = arguments.uint(0)
        case 2: // ready(tv_sec_hi, tv_sec_lo, tv_nsec)
            state = .ready(CaptureTimestamp(secondsHigh: arguments.uint(0), secondsLow: arguments.uint(1), nanoseconds: arguments.uint(2)))
        case 3: state = .failed
        case 4: // damage(x, y, width, height)
            damage.append(CaptureRect(x: Int(arguments.uint(0)), y: Int(arguments.uint(1)),
                                      width: Int(arguments.uint(2)), height: Int(arguments.uint(3))))
        case 5: // linux_dmabuf(format, width, height)
            dmabufOffers.append(DmabufOffer(format: arguments.uint(0), width: Int(arguments.uint(1)), height: Int(arguments.uint(2))))
        case 6: buffersDone = true
        default: break
        }
    }

    /// The offer this kit can read: XRGB8888 first, then ARGB8888.
    static func chooseOffer(_ offers: [ShmOffer]) -> (ShmOffer, ShmFormat)? {
        for format in [ShmFormat.xrgb8888, .argb8888] {
            if let offer = offers.first(where: { $0.format == format.rawValue && $0.width > 0 && $0.height > 0 && $0.stride >= $0.width * 4 }) {
                return (offer, format)
            }
        }
        return nil
    }

    /// The `linux_dmabuf` offer this kit can fill: XRGB8888 (what `DmaBuf` allocates), positive size.
    static func chooseDmabufOffer(_ offers: [DmabufOffer]) -> DmabufOffer? {
        offers.first { $0.format == DrmFormat.xrgb8888 && $0.width > 0 && $0.height > 0 }
    }

    /// Where the copy goes.
    enum Destination {
        case shm(Shm)
        /// A fresh `DmaBuf` of `strategy`, imported through `linuxDmabuf` with `create_immed`.
        /// `prepare` runs on it before `copy`.
        case dmabuf(linuxDmabuf: LinuxDmabuf, strategy: DmaBuf.Strategy, options: DmaBuf.Options, prepare: ((DmaBuf) throws -> Void)?)
    }

    /// Waits for the offers, copies into a fresh `wl_shm` buffer or dma-buf, waits for `ready`
    /// or `failed`, reads the pixels back.
    func capture(connection: Connection, into destination: Destination, withDamage: Bool, timeout: Duration?) throws -> CapturedFrame {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        func remaining() -> Duration? { deadline.map { $0 - clock.now } }
        defer {
            if let proxy { zwlr_screencopy_frame_v1_destroy(proxy) }
            proxy = nil
        }

        // Version 3 ends the offers with buffer_done; before it, the one buffer event is all.
        try connection.wait(timeout: remaining()) {
            state == .failed || (version >= 3 ? buffersDone : !shmOffers.isEmpty)
        }.orThrow(waitingFor: version >= 3 ? "zwlr_screencopy_frame_v1.buffer_done" : "zwlr_screencopy_frame_v1.buffer")
        if state == .failed { throw CaptureError.failed }

        switch destination {
        case let .shm(shm):
            return try copyIntoShm(connection: connection, shm: shm, withDamage: withDamage, remaining: remaining)
        case let .dmabuf(linuxDmabuf, strategy, options, prepare):
            return try copyIntoDmabuf(connection: connection, linuxDmabuf: linuxDmabuf, strategy: strategy, options: options,
                                      prepare: prepare, withDamage: withDamage, remaining: remaining)
        }
    }

    /// Sends `copy` or `copy_with_damage` with `buffer` and waits for `ready` or `failed`.
    private func copy(_ buffer: WaylandBuffer, connection: Connection, withDamage: Bool, remaining: () -> Duration?) throws -> CaptureTimestamp {
        if withDamage {
            zwlr_screencopy_frame_v1_copy_with_damage(proxy, buffer.proxy)
        } else {
            zwlr_screencopy_frame_v1_copy(proxy, buffer.proxy)
        }
        try connection.wait(timeout: remaining()) { state != .pending }
            .orThrow(waitingFor: "zwlr_screencopy_frame_v1 ready or failed")
        guard case let .ready(timestamp) = state else { throw CaptureError.failed }
        return timestamp
    }

    private func copyIntoShm(connection: Connection, shm: Shm, withDamage: Bool, remaining: () -> Duration?) throws -> CapturedFrame {
        guard let (offer, format) = Self.chooseOffer(shmOffers) else {
            throw CaptureError.noUsableBuffer(shmFormats: shmOffers.map(\.format), dmabufFormats: dmabufOffers.map(\.format))
        }

        let pool = try ShmPool(shm: shm, size: offer.stride * offer.height, strategy: .automatic)
        let buffer = ShmBuffer(pool: pool, offset: 0, width: offer.width, height: offer.height, stride: offer.stride, format: format)
        defer {
            buffer.destroy()
            pool.destroyProxy()
        }
        let timestamp = try copy(buffer, connection: connection, withDamage: withDamage, remaining: remaining)

        let yInverted = flags & 1 != 0
        let image: CapturedImage
        do {
            image = try CapturedImage(
                xrgb8888: UnsafeRawBufferPointer(start: pool.memory, count: pool.size), offset: 0,
                width: offer.width, height: offer.height, stride: offer.stride, yInverted: yInverted)
        } catch {
            throw CaptureError.badFrame("\(error)")
        }
        return CapturedFrame(
            method: .screencopy, format: ShmFormatName.fourcc(offer.format), modifier: DrmModifier.linear,
            isDmabuf: false, yInverted: yInverted, damage: damage, objects: [], exportFlags: 0, bufferFlags: 0,
            offsetX: 0, offsetY: 0, dmabufOffers: dmabufOffers, timestamp: timestamp, image: image)
    }

    /// Allocates a linear XRGB8888 `DmaBuf` of the offered size, imports it with `create_immed`,
    /// copies into it and reads it back through a read-only mapping of the dma-buf descriptor
    /// itself, between `DMA_BUF_IOCTL_SYNC` START|READ and END|READ. (Not through `DmaBuf`'s own
    /// CPU mapping: for udmabuf that is the memfd's, and in the test VM's 6.12 kernel the
    /// compositor's writes through the dma-buf's mapping did not show there, all zeros.)
    private func copyIntoDmabuf(
        connection: Connection, linuxDmabuf: LinuxDmabuf, strategy: DmaBuf.Strategy, options: DmaBuf.Options,
        prepare: ((DmaBuf) throws -> Void)?, withDamage: Bool, remaining: () -> Duration?
    ) throws -> CapturedFrame {
        guard let offer = Self.chooseDmabufOffer(dmabufOffers) else {
            throw CaptureError.noUsableBuffer(shmFormats: shmOffers.map(\.format), dmabufFormats: dmabufOffers.map(\.format))
        }
        let dmabuf = try DmaBuf(width: offer.width, height: offer.height, strategy: strategy, options: options)
        let buffer = try DmaBuffer(linuxDmabuf: linuxDmabuf, dmabuf: dmabuf, creation: .immediate)
        defer { buffer.destroy() }
        try prepare?(dmabuf)
        let timestamp = try copy(buffer, connection: connection, withDamage: withDamage, remaining: remaining)

        let yInverted = flags & 1 != 0
        // Read through a mapping of the dma-buf itself (not udmabuf's memfd or the dumb map),
        // between DMA_BUF_IOCTL_SYNC START|READ and END|READ: what the compositor wrote through it.
        let object = CapturedObject(index: 0, size: dmabuf.size, offset: dmabuf.offset, stride: dmabuf.stride, planeIndex: 0,
                                    filesystemType: CapturedObject.dmabufMagic)
        let image = try ObjectMapping(dmabuf.fileDescriptor, object: object)
            .readXRGB8888(width: offer.width, height: offer.height, yInverted: yInverted)
        var frame = CapturedFrame(
            method: .screencopy, format: dmabuf.format, modifier: dmabuf.modifier,
            isDmabuf: true, yInverted: yInverted, damage: damage, objects: [], exportFlags: 0, bufferFlags: 0,
            offsetX: 0, offsetY: 0, dmabufOffers: dmabufOffers, timestamp: timestamp, image: image)
        frame.dmabufStrategy = dmabuf.strategy
        return frame
    }
}
