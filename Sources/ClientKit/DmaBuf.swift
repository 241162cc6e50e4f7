import CDRM
import CWayland
import Glibc
import SystemPackage

/// DRM pixel format codes (fourcc, `drm_fourcc.h`).
public enum DrmFormat {
    /// `DRM_FORMAT_XRGB8888`, fourcc 'XR24': 32 bits per pixel, x:R:G:B little-endian, which is
    /// `wl_shm`'s xrgb8888 byte for byte.
    public static let xrgb8888: UInt32 = 0x3432_5258
    /// `DRM_FORMAT_ARGB8888`, fourcc 'AR24'.
    public static let argb8888: UInt32 = 0x3432_5241

    /// The four characters of a fourcc code ("XR24"), or its hex value if they are not printable.
    public static func name(_ code: UInt32) -> String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: code >> ($0 * 8)) }
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else { return "0x" + String(code, radix: 16) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// DRM format modifiers (`drm_fourcc.h`): how the pixels are laid out in memory.
public enum DrmModifier {
    /// `DRM_FORMAT_MOD_LINEAR`: rows one after another, `stride` bytes apart.
    public static let linear: UInt64 = 0
    /// `DRM_FORMAT_MOD_INVALID`: no explicit modifier (the layout is implied by the buffer).
    public static let invalid: UInt64 = 0x00FF_FFFF_FFFF_FFFF
    /// `I915_FORMAT_MOD_X_TILED`, a vendor tiling this kit never allocates.
    public static let intelXTiled: UInt64 = 0x0100_0000_0000_0001

    /// "LINEAR", "INVALID", or the value in hex.
    public static func name(_ modifier: UInt64) -> String {
        switch modifier {
        case linear: return "LINEAR"
        case invalid: return "INVALID"
        default: return "0x" + String(modifier, radix: 16, uppercase: false)
        }
    }
}

/// A dma-buf holding one linear XRGB8888 image, with a CPU mapping to draw into.
///
/// Three ways to get one (`Strategy`), tried in order by `automatic`:
/// - `udmabuf`: a memfd sized to the image (page-rounded) and sealed with `F_SEAL_SHRINK`, turned
///   into a dma-buf by `UDMABUF_CREATE` on `/dev/udmabuf`; drawn through the memfd's mapping.
/// - `dumb`: a DRM dumb buffer on the first `/dev/dri/card*` with `DRM_CAP_DUMB_BUFFER` and
///   PRIME export (render-only drivers such as vgem answer EOPNOTSUPP for the cap: there the
///   dumb buffer is simply tried), mapped with `MODE_MAP_DUMB`, exported with
///   `drmPrimeHandleToFD(DRM_CLOEXEC | DRM_RDWR)`.
/// - `heap`: `DMA_HEAP_IOCTL_ALLOC` on `/dev/dma_heap/system`; drawn through the dma-buf's mapping.
///
/// CPU writes must be bracketed with `beginCPUAccess` / `endCPUAccess` (`DMA_BUF_IOCTL_SYNC`), or
/// done inside `withMutableBytes`. Owns everything it made: the dma-buf descriptor and the memfd
/// or DRM descriptor are closed once, the mapping unmapped once, the dumb handle destroyed, all
/// on deinit. See docs/clientkit.md.
public final class DmaBuf {
    /// Where the dma-buf comes from. `automatic` tries the others in order; `strategy` is never it.
    public enum Strategy: String, Sendable, CaseIterable, CustomStringConvertible {
        /// udmabuf, then dumb, then heap: the first that succeeds.
        case automatic = "auto"
        case udmabuf
        case dumb
        case heap

        /// The concrete strategies this one tries, in order.
        public var chain: [Strategy] {
            self == .automatic ? [.udmabuf, .dumb, .heap] : [self]
        }

        public var description: String { rawValue }
    }

    /// Why one strategy failed.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A system call or ioctl failed; `hint` explains the errno where the kernel's meaning is known.
        case system(call: String, errno: Errno, hint: String?)
        /// No device could serve (e.g. no `/dev/dri/card*` with dumb buffers); says why per device.
        case unusable(String)
        /// The requested size is not positive or too large.
        case invalidSize(width: Int, height: Int)

        public var description: String {
            switch self {
            case let .system(call, errno, hint):
                return "\(call) failed: \(errno.symbolicDescription)" + (hint.map { ": \($0)" } ?? "")
            case let .unusable(why): return why
            case let .invalidSize(width, height): return "invalid size \(width)x\(height)"
            }
        }

        /// The errno behind a failed call, if that is what it was.
        public var errno: Errno? {
            if case let .system(_, errno, _) = self { return errno }
            return nil
        }
    }

    /// One strategy that was tried and failed.
    public typealias Attempt = StrategyAttempt<Strategy, Failure>

    /// The device paths (replaceable so tests can point them at nothing, or at the wrong thing).
    public struct Options: Sendable {
        public var udmabufDevice: String
        /// Searched for `card<N>` nodes, lowest N first.
        public var driDirectory: String
        public var heapDevice: String
        /// The name of udmabuf's memfd (visible in /proc/<pid>/fd).
        public var memfdName: String

        public init(
            udmabufDevice: String = "/dev/udmabuf", driDirectory: String = "/dev/dri",
            heapDevice: String = "/dev/dma_heap/system", memfdName: String = "clientkit-udmabuf"
        ) {
            self.udmabufDevice = udmabufDevice
            self.driDirectory = driDirectory
            self.heapDevice = heapDevice
            self.memfdName = memfdName
        }
    }

    /// CPU access directions for `DMA_BUF_IOCTL_SYNC`.
    public struct CPUAccess: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let read = CPUAccess(rawValue: UInt64(CDRM_SYNC_READ))
        public static let write = CPUAccess(rawValue: UInt64(CDRM_SYNC_WRITE))
    }

    /// The dma-buf (close-on-exec). Send it as plane 0 of `zwp_linux_buffer_params_v1.add`.
    public let fileDescriptor: FileDescriptor
    /// The strategy that made it: `udmabuf`, `dumb` or `heap`, never `automatic`.
    public let strategy: Strategy
    /// The strategies that failed before `strategy` succeeded (empty if the first did).
    public let failedAttempts: [Attempt]
    /// The device it came from, e.g. `/dev/udmabuf` or `/dev/dri/card0 (vgem)`.
    public let device: String
    public let width: Int
    public let height: Int
    /// Bytes per row (the dumb buffer's pitch may exceed `width * 4`).
    public let stride: Int
    /// Where the image starts in the dma-buf: always 0.
    public let offset = 0
    /// The dma-buf's size in bytes (`lseek(fd, 0, SEEK_END)`), at least `stride * height`.
    public let size: Int
    /// `DrmFormat.xrgb8888`.
    public let format = DrmFormat.xrgb8888
    /// `DrmModifier.linear`.
    public let modifier = DrmModifier.linear

    /// The CPU mapping: the memfd (udmabuf), the dumb map (dumb) or the dma-buf itself (heap).
    let memory: UnsafeMutableRawPointer
    private let mappedLength: Int
    private let backing: Backing

    enum Backing {
        /// The memfd the udmabuf pins (closed by AnonymousFile's deinit).
        case udmabuf(memfd: AnonymousFile)
        /// The card the dumb buffer lives on, and its handle there.
        case dumb(card: FileDescriptor, handle: UInt32)
        case heap
    }

    /// What one strategy made.
    struct Made {
        var fd: FileDescriptor
        var device: String
        var stride: Int
        var memory: UnsafeMutableRawPointer
        var mappedLength: Int
        var backing: Backing
    }

    /// Allocates a `width` x `height` XRGB8888 linear dma-buf. With `.automatic` tries udmabuf,
    /// dumb, heap in order, moving on after any failure; the error lists every attempt.
    public init(width: Int, height: Int, strategy: Strategy = .automatic, options: Options = Options()) throws(DmaBufError) {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw DmaBufError(requested: strategy, attempts: strategy.chain.map {
                Attempt(strategy: $0, failure: .invalidSize(width: width, height: height))
            })
        }
        var attempts: [Attempt] = []
        for candidate in strategy.chain {
            do throws(Failure) {
                let made = try Self.make(candidate, width: width, height: height, options: options)
                fileDescriptor = made.fd
                self.strategy = candidate
                failedAttempts = attempts
                device = made.device
                self.width = width
                self.height = height
                stride = made.stride
                memory = made.memory
                mappedLength = made.mappedLength
                backing = made.backing
                let end = lseek(made.fd.rawValue, 0, SEEK_END)
                size = end > 0 ? Int(end) : made.stride * height
                return
            } catch {
                attempts.append(Attempt(strategy: candidate, failure: error))
            }
        }
        throw DmaBufError(requested: strategy, attempts: attempts)
    }

    deinit {
        munmap(memory, mappedLength)
        try? fileDescriptor.close()
        switch backing {
        case .udmabuf: break // the memfd closes with its AnonymousFile
        case let .dumb(card, handle):
            _ = cdrm_destroy_dumb(card.rawValue, handle)
            try? card.close()
        case .heap: break
        }
    }

    // MARK: CPU access

    /// `DMA_BUF_IOCTL_SYNC(START | access)`: call before touching `withMutableBytes`' memory.
    public func beginCPUAccess(_ access: CPUAccess = .write) throws(Failure) {
        try sync(UInt64(CDRM_SYNC_START) | access.rawValue, what: "START")
    }

    /// `DMA_BUF_IOCTL_SYNC(END | access)`: call when done; `access` must match the begin.
    public func endCPUAccess(_ access: CPUAccess = .write) throws(Failure) {
        try sync(UInt64(CDRM_SYNC_END) | access.rawValue, what: "END")
    }

    /// Runs `body` with the mapping (`size` bytes at most, the image at `offset`), bracketed by
    /// `beginCPUAccess(access)` and `endCPUAccess(access)` (also when `body` throws).
    public func withMutableBytes<R>(_ access: CPUAccess = .write, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try beginCPUAccess(access)
        let result: R
        do {
            result = try body(UnsafeMutableRawBufferPointer(start: memory, count: min(mappedLength, size)))
        } catch {
            try? endCPUAccess(access)
            throw error
        }
        try endCPUAccess(access)
        return result
    }

    private func sync(_ flags: UInt64, what: String) throws(Failure) {
        let result = cdrm_dmabuf_sync(fileDescriptor.rawValue, flags)
        guard result == 0 else {
            let rw = [flags & UInt64(CDRM_SYNC_READ) != 0 ? "READ" : nil,
                      flags & UInt64(CDRM_SYNC_WRITE) != 0 ? "WRITE" : nil].compactMap { $0 }
            throw .system(call: "DMA_BUF_IOCTL_SYNC(\(([what] + rw).joined(separator: "|")))", errno: Errno(rawValue: -result), hint: nil)
        }
    }
}
