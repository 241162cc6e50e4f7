import CWayland

/// How to capture an output.
public enum CaptureMethod: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `zwlr_export_dmabuf_manager_v1`: the compositor lends its own output buffer as dma-bufs.
    case exportDmabuf = "export-dmabuf"
    /// `zwlr_screencopy_manager_v1`: the compositor copies the output into a client `wl_shm` buffer.
    case screencopy
    /// `ext_image_copy_capture_manager_v1` with an output source (wayland-protocols 1.37): the
    /// compositor copies the output into a client `wl_shm` buffer.
    case extImageCopyCapture = "ext-image-copy-capture"

    public var description: String { rawValue }
}

/// What screencopy copies into.
public enum CaptureBufferKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A `wl_shm` buffer of the offered `buffer(format, width, height, stride)` (a sealed memfd pool).
    case shm
    /// A linear XRGB8888 `DmaBuf` of the offered `linux_dmabuf(format, width, height)` (version 3),
    /// imported through `zwp_linux_dmabuf_v1` with `create_immed`.
    case dmabuf

    public var description: String { rawValue }
}

/// Why `zwlr_export_dmabuf_frame_v1` was cancelled (`cancel(reason)`).
public enum CaptureCancelReason: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// 0: a transient problem; trying again may succeed.
    case temporary
    /// 1: capturing this output will never work (e.g. nothing to export).
    case permanent
    /// 2: the output changed size; try again.
    case resizing
    /// A value the protocol does not define.
    case unknown(UInt32)

    public init(rawValue: UInt32) {
        switch rawValue {
        case 0: self = .temporary
        case 1: self = .permanent
        case 2: self = .resizing
        default: self = .unknown(rawValue)
        }
    }

    public var rawValue: UInt32 {
        switch self {
        case .temporary: return 0
        case .permanent: return 1
        case .resizing: return 2
        case let .unknown(value): return value
        }
    }

    /// "temporary", "permanent", "resizing" or "unknown (N)".
    public var description: String {
        switch self {
        case .temporary: return "temporary"
        case .permanent: return "permanent"
        case .resizing: return "resizing"
        case let .unknown(value): return "unknown (\(value))"
        }
    }
}

/// A rectangle in buffer coordinates (`zwlr_screencopy_frame_v1.damage`).
public struct CaptureRect: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// "x,y WxH".
    public var description: String { "\(x),\(y) \(width)x\(height)" }
}

/// The presentation time of a captured frame (`ready(tv_sec_hi, tv_sec_lo, tv_nsec)`), on the
/// compositor's presentation clock.
public struct CaptureTimestamp: Sendable, Equatable {
    public var seconds: UInt64
    public var nanoseconds: UInt32

    public init(secondsHigh: UInt32, secondsLow: UInt32, nanoseconds: UInt32) {
        seconds = UInt64(secondsHigh) << 32 | UInt64(secondsLow)
        self.nanoseconds = nanoseconds
    }
}

/// One object (`zwlr_export_dmabuf_frame_v1.object`) of an exported frame, as received.
public struct CapturedObject: Sendable, Equatable {
    public var index: UInt32
    public var size: Int
    public var offset: Int
    public var stride: Int
    public var planeIndex: UInt32
    /// `fstatfs(fd).f_type` (`DMA_BUF_MAGIC` 0x444D4142 for a dma-buf), -1 if it failed.
    public var filesystemType: Int
    /// Whether the descriptor is a real dma-buf.
    public var isDmabuf: Bool { filesystemType == CapturedObject.dmabufMagic }

    /// `DMA_BUF_MAGIC` of `linux/magic.h`: the `f_type` of a dma-buf descriptor.
    public static let dmabufMagic = 0x444D_4142

    public init(index: UInt32, size: Int, offset: Int, stride: Int, planeIndex: UInt32, filesystemType: Int) {
        self.index = index
        self.size = size
        self.offset = offset
        self.stride = stride
        self.planeIndex = planeIndex
        self.filesystemType = filesystemType
    }
}

/// One captured frame of an output, its pixels read back.
public struct CapturedFrame: Sendable {
    public var method: CaptureMethod
    public var width: Int { image.width }
    public var height: Int { image.height }
    /// A DRM fourcc (`DrmFormat`): for screencopy the `wl_shm` format (0 and 1 mapped to 'AR24'
    /// and 'XR24'; the others are fourccs already).
    public var format: UInt32
    /// The DRM format modifier (`DrmModifier`); `LINEAR` for screencopy's `wl_shm` buffer.
    public var modifier: UInt64
    /// export-dmabuf: every object is a real dma-buf. screencopy: whether the copy went into a
    /// dma-buf (`CaptureBufferKind.dmabuf`) rather than a `wl_shm` buffer.
    public var isDmabuf: Bool
    /// screencopy into a dma-buf: how that dma-buf was allocated. nil otherwise.
    public var dmabufStrategy: DmaBuf.Strategy? = nil
    /// The buffer was upside down (y_invert); `image` has already been turned the right way up.
    public var yInverted: Bool
    /// screencopy `copy_with_damage`: the damage events, in order (empty otherwise).
    public var damage: [CaptureRect]
    /// export-dmabuf: the objects (descriptors already closed). Empty for screencopy.
    public var objects: [CapturedObject]
    /// export-dmabuf `frame.flags` (1: transient) and `buffer_flags` (linux-dmabuf flags).
    public var exportFlags: UInt32
    public var bufferFlags: UInt32
    /// export-dmabuf: where the frame lies in the output (`offset_x`, `offset_y`).
    public var offsetX: Int
    public var offsetY: Int
    /// screencopy: the `linux_dmabuf` offers (format, width, height) (version 3), which
    /// `CaptureBufferKind.dmabuf` copies into.
    public var dmabufOffers: [ScreencopyFrame.DmabufOffer]
    public var timestamp: CaptureTimestamp
    public var image: CapturedImage

    /// The pixel at column `x`, row `y` (top row 0): 0xFFRRGGBB.
    public func pixel(x: Int, y: Int) -> UInt32 { image.pixel(x: x, y: y) }

    /// "XR24".
    public var formatName: String { DrmFormat.name(format) }

    /// The one-line summary demo-client prints: `<method> <W>x<H> <FOURCC> modifier=0x… dmabuf=<yes|no>`.
    public var summary: String {
        "\(method) \(width)x\(height) \(formatName) modifier=0x\(String(modifier, radix: 16)) dmabuf=\(isDmabuf ? "yes" : "no")"
    }
}

/// Why a capture produced no picture.
public enum CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// export-dmabuf: the compositor cancelled the frame.
    case cancelled(CaptureCancelReason)
    /// screencopy: the compositor sent `failed`.
    case failed
    /// The compositor has no `wl_output`.
    case noOutput
    /// screencopy offered no buffer of the kind asked for that this kit can fill: for `wl_shm`
    /// XRGB8888 or ARGB8888, for dma-bufs a `linux_dmabuf` offer of XRGB8888 (none at all, e.g.,
    /// when the compositor cannot write into dma-bufs or the manager is older than version 3).
    case noUsableBuffer(shmFormats: [UInt32], dmabufFormats: [UInt32])
    /// The frame's format or modifier cannot be read by the CPU here.
    case unsupportedFormat(format: UInt32, modifier: UInt64)
    /// The exported objects do not describe a readable image (missing plane, bad sizes...).
    case badFrame(String)
    /// Mapping or syncing an exported object failed.
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cancelled(reason): return "capture cancelled: \(reason)"
        case .failed: return "capture failed"
        case .noOutput: return "the compositor has no output"
        case let .noUsableBuffer(shm, dmabuf):
            return "screencopy offered no usable buffer (shm formats: \(shm.map(ShmFormatName.name)), dma-buf formats: \(dmabuf.map(DrmFormat.name)))"
        case let .unsupportedFormat(format, modifier):
            return "cannot read \(DrmFormat.name(format))/\(DrmModifier.name(modifier)) frames (only XR24 or AR24, LINEAR)"
        case let .badFrame(why): return "unreadable frame: \(why)"
        case let .system(operation, errno): return "\(operation) failed: errno \(errno)"
        }
    }
}

/// Names of `wl_shm` format codes.
enum ShmFormatName {
    /// `wl_shm` uses 0 and 1 for ARGB8888 and XRGB8888; every other code is the DRM fourcc.
    static func fourcc(_ shmFormat: UInt32) -> UInt32 {
        switch shmFormat {
        case 0: return DrmFormat.argb8888
        case 1: return DrmFormat.xrgb8888
        default: return shmFormat
        }
    }

    static func name(_ shmFormat: UInt32) -> String { DrmFormat.name(fourcc(shmFormat)) }
}

/// Captures outputs with `zwlr_export_dmabuf_manager_v1` or `zwlr_screencopy_manager_v1`.
///
/// Needs only a connection: it binds the outputs (`OutputList`), `wl_shm` and whichever capture
/// managers the compositor offers. Use it from the connection's thread.
public final class OutputCapture {
    public let connection: Connection
    public let registry: Registry
    public let outputList: OutputList
    private let shm: Shm?
    private let exportManager: ExportDmabufManager?
    private let screencopyManager: ScreencopyManager?

    /// Lists the globals (one roundtrip), binds the outputs, `wl_shm` and the capture managers,
    /// then collects the outputs' and `wl_shm`'s events (a second roundtrip).
    public init(connection: Connection, timeout: Duration? = nil) throws {
        self.connection = connection
        registry = Registry(connection: connection)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the registry")
        if registry.global("wl_shm") != nil {
            let bound = try registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1)
            shm = Shm(connection: connection, proxy: bound.proxy)
        } else {
            shm = nil
        }
        if registry.global("zwlr_export_dmabuf_manager_v1") != nil {
            let bound = try registry.bind("zwlr_export_dmabuf_manager_v1", table: cw_zwlr_export_dmabuf_manager_v1_interface(), maxVersion: 1)
            exportManager = ExportDmabufManager(connection: connection, proxy: bound.proxy)
        } else {
            exportManager = nil
        }
        if registry.global("zwlr_screencopy_manager_v1") != nil {
            let bound = try registry.bind("zwlr_screencopy_manager_v1", table: cw_zwlr_screencopy_manager_v1_interface(), maxVersion: 3)
            screencopyManager = ScreencopyManager(connection: connection, proxy: bound.proxy, version: bound.version)
        } else {
            screencopyManager = nil
        }
        // Binds the outputs and does the second roundtrip (which also brings wl_shm.format).
        outputList = try OutputList(registry: registry, timeout: timeout)
    }

    public var outputs: [Output] { outputList.outputs }

    /// The bound `zwlr_screencopy_manager_v1` version, nil if the compositor lacks it.
    public var screencopyVersion: UInt32? { screencopyManager?.version }
    /// Whether the compositor offers `zwlr_export_dmabuf_manager_v1`.
    public var hasExportDmabuf: Bool { exportManager != nil }

    private var boundLinuxDmabuf: LinuxDmabuf?

    /// `zwp_linux_dmabuf_v1` (versions 2 to 4, formats collected), bound on first use by a
    /// screencopy into a dma-buf. Throws `ClientError.missingGlobal` if the compositor lacks it.
    public func linuxDmabuf(timeout: Duration? = nil) throws -> LinuxDmabuf {
        if let boundLinuxDmabuf { return boundLinuxDmabuf }
        let bound = try registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), minVersion: 2, maxVersion: 4)
        let dmabuf = LinuxDmabuf(connection: connection, proxy: bound.proxy, version: bound.version)
        try dmabuf.collectFormats(timeout: timeout)
        boundLinuxDmabuf = dmabuf
        return dmabuf
    }

    /// Captures one frame of `output` (default: the first) with `method`.
    ///
    /// - export-dmabuf: maps each object read-only, reads it between `DMA_BUF_IOCTL_SYNC`
    ///   START|READ and END|READ when it is a dma-buf, and closes the descriptors.
    /// - screencopy: with `bufferKind` `.shm` makes a `wl_shm` buffer of the offered format, size
    ///   and stride (a sealed memfd pool); with `.dmabuf` (needs version 3 and
    ///   `zwp_linux_dmabuf_v1`) allocates a linear XRGB8888 `DmaBuf` of the offered size with
    ///   `dmabufStrategy`, imports it with `create_immed`, and reads it back between
    ///   `DMA_BUF_IOCTL_SYNC` START|READ and END|READ. Sends `copy`, or `copy_with_damage` when
    ///   `withDamage` (needs version 2). `bufferKind` does not matter for export-dmabuf.
    ///
    /// Throws `CaptureError` (`cancelled`, `failed`, `noUsableBuffer` when no offer of the kind
    /// asked for came...), `ClientError.missingGlobal` when the compositor lacks the protocol,
    /// `ClientError.timedOut` / `.interrupted`, `ProtocolError`, and for `.dmabuf` `DmaBufError`
    /// (no allocation strategy worked) or `DmaBufferError.notAdvertised`. `dmabufPrepare` runs on
    /// the screencopy target dma-buf just before `copy` (tests attach fences to it).
    public func capture(
        _ method: CaptureMethod, output: Output? = nil, overlayCursor: Bool = false, withDamage: Bool = false,
        bufferKind: CaptureBufferKind = .shm, dmabufStrategy: DmaBuf.Strategy = .automatic,
        dmabufOptions: DmaBuf.Options = DmaBuf.Options(), dmabufPrepare: ((DmaBuf) throws -> Void)? = nil,
        timeout: Duration? = nil
    ) throws -> CapturedFrame {
        guard let output = output ?? outputs.first else { throw CaptureError.noOutput }
        switch method {
        case .exportDmabuf:
            let frame = try exportFrame(output: output, overlayCursor: overlayCursor, keep: false, timeout: timeout)
            return try frame.capturedFrame()
        case .screencopy:
            guard let screencopyManager else {
                throw ClientError.missingGlobal(interface: "zwlr_screencopy_manager_v1", minimumVersion: withDamage ? 2 : 1)
            }
            if withDamage && screencopyManager.version < 2 {
                throw ClientError.missingGlobal(interface: "zwlr_screencopy_manager_v1", minimumVersion: 2)
            }
            let destination: ScreencopyFrame.Destination
            switch bufferKind {
            case .shm:
                guard let shm else { throw ClientError.missingGlobal(interface: "wl_shm", minimumVersion: 1) }
                destination = .shm(shm)
            case .dmabuf:
                // linux_dmabuf offers exist from version 3 on.
                if screencopyManager.version < 3 {
                    throw ClientError.missingGlobal(interface: "zwlr_screencopy_manager_v1", minimumVersion: 3)
                }
                destination = .dmabuf(linuxDmabuf: try linuxDmabuf(timeout: timeout), strategy: dmabufStrategy, options: dmabufOptions,
                                      prepare: dmabufPrepare)
            }
            let frame = ScreencopyFrame(manager: screencopyManager, output: output, overlayCursor: overlayCursor)
            return try frame.capture(connection: connection, into: destination, withDamage: withDamage, timeout: timeout)
        case .extImageCopyCapture:
            let stream = try ImageCopyCaptureStream(connection: connection, outputIndex: outputs.firstIndex { $0 === output } ?? 0,
                                                    paintCursors: overlayCursor, timeout: timeout)
            return try stream.capturedFrame(timeout: timeout)
        }
    }

    /// Captures one frame of `output` with export-dmabuf and keeps it: the
    /// `zwlr_export_dmabuf_frame_v1` is not destroyed after `ready`, so the compositor must not
    /// render into its buffer again until `HeldExportedFrame.release()` (or the handle's deinit).
    /// The plane-0 object stays mapped; `frame` holds the pixels read at once, `reread()` reads
    /// them again from the same dma-buf. A cancel throws `CaptureError.cancelled` (nothing held).
    public func captureHeld(output: Output? = nil, overlayCursor: Bool = false, timeout: Duration? = nil) throws -> HeldExportedFrame {
        guard let output = output ?? outputs.first else { throw CaptureError.noOutput }
        let frame = try exportFrame(output: output, overlayCursor: overlayCursor, keep: true, timeout: timeout)
        do {
            return try HeldExportedFrame(frame: frame, connection: connection)
        } catch {
            frame.release()
            throw error
        }
    }

    private func exportFrame(output: Output, overlayCursor: Bool, keep: Bool, timeout: Duration?) throws -> ExportDmabufFrame {
        guard let exportManager else {
            throw ClientError.missingGlobal(interface: "zwlr_export_dmabuf_manager_v1", minimumVersion: 1)
        }
        let frame = ExportDmabufFrame(manager: exportManager, output: output, overlayCursor: overlayCursor)
        try frame.wait(connection: connection, timeout: timeout, keep: keep)
        return frame
    }
}
