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

    private enum Backing {
        /// The memfd the udmabuf pins (closed by AnonymousFile's deinit).
        case udmabuf(memfd: AnonymousFile)
        /// The card the dumb buffer lives on, and its handle there.
        case dumb(card: FileDescriptor, handle: UInt32)
        case heap
    }

    /// What one strategy made.
    private struct Made {
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

    // MARK: Strategies

    static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }

    private static func make(_ strategy: Strategy, width: Int, height: Int, options: Options) throws(Failure) -> Made {
        switch strategy {
        case .automatic: preconditionFailure("automatic is a chain, not a strategy")
        case .udmabuf: return try makeUdmabuf(width: width, height: height, options: options)
        case .dumb: return try makeDumb(width: width, height: height, options: options)
        case .heap: return try makeHeap(width: width, height: height, options: options)
        }
    }

    private static func open(_ path: String, _ flags: Int32, device kind: String) throws(Failure) -> FileDescriptor {
        var fd: Int32
        repeat {
            fd = Glibc.open(path, flags | O_CLOEXEC)
        } while fd < 0 && Glibc.errno == EINTR
        guard fd >= 0 else {
            let errno = Errno.current
            throw .system(call: "open \(path)", errno: errno, hint: openHint(device: kind, path: path, errno: errno))
        }
        return FileDescriptor(rawValue: fd)
    }

    private static func map(_ fd: Int32, length: Int, offset: off_t = 0, call: String) throws(Failure) -> UnsafeMutableRawPointer {
        guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset), address != MAP_FAILED else {
            throw .system(call: call, errno: .current, hint: nil)
        }
        return address
    }

    private static func makeUdmabuf(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let stride = width * 4
        // UDMABUF_CREATE takes whole pages only.
        let length = roundUp(stride * height, to: pageSize)
        let device = try open(options.udmabufDevice, O_RDWR, device: "udmabuf")
        defer { try? device.close() }

        // F_SEAL_SHRINK (which the kernel requires) | F_SEAL_SEAL, never F_SEAL_WRITE (which it rejects).
        let memfd: AnonymousFile
        do {
            memfd = try AnonymousFile(size: length, strategy: .memfd, options: .init(name: options.memfdName))
        } catch {
            if case let .system(call, errno)? = error.attempts.first?.failure {
                throw .system(call: "\(call) (the memfd for udmabuf)", errno: errno, hint: nil)
            }
            throw .unusable("the memfd for udmabuf: \(error)")
        }
        let fd = try udmabufCreate(device: device, memfd: memfd.fileDescriptor, size: length, devicePath: options.udmabufDevice)
        do throws(Failure) {
            let memory = try map(memfd.fileDescriptor.rawValue, length: length, call: "mmap of the udmabuf memfd")
            return Made(fd: fd, device: options.udmabufDevice, stride: stride, memory: memory, mappedLength: length,
                        backing: .udmabuf(memfd: memfd))
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// `UDMABUF_CREATE` over the first `size` bytes of `memfd` (close-on-exec): the kernel's
    /// errno comes back as `Failure.system` with `udmabufCreateHint`'s explanation.
    public static func udmabufCreate(
        device: FileDescriptor, memfd: FileDescriptor, size: Int, devicePath: String = "/dev/udmabuf"
    ) throws(Failure) -> FileDescriptor {
        let result = cdrm_udmabuf_create(device.rawValue, memfd.rawValue, 0, UInt64(size))
        guard result >= 0 else {
            let errno = Errno(rawValue: -result)
            let seals = fcntl(memfd.rawValue, Int32(CW_F_GET_SEALS))
            let hint = udmabufCreateHint(errno: errno, seals: seals >= 0 ? seals : nil, size: size, pageSize: pageSize,
                                         sizeLimitMB: udmabufSizeLimitMB())
            throw .system(call: "UDMABUF_CREATE on \(devicePath)", errno: errno, hint: hint)
        }
        return FileDescriptor(rawValue: result)
    }

    private static func makeHeap(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let stride = width * 4
        let length = roundUp(stride * height, to: pageSize)
        let heap = try open(options.heapDevice, O_RDONLY, device: "heap")
        defer { try? heap.close() }
        let result = cdrm_dma_heap_alloc(heap.rawValue, UInt64(length))
        guard result >= 0 else {
            let errno = Errno(rawValue: -result)
            let hint: String? = switch errno {
            case .notSupported, Errno(rawValue: ENOTTY): "\(options.heapDevice) is not a dma-heap"
            case .noMemory: "the heap could not allocate \(length) bytes"
            default: nil
            }
            throw .system(call: "DMA_HEAP_IOCTL_ALLOC on \(options.heapDevice)", errno: errno, hint: hint)
        }
        let fd = FileDescriptor(rawValue: result)
        do throws(Failure) {
            let memory = try map(fd.rawValue, length: length, call: "mmap of the heap dma-buf")
            return Made(fd: fd, device: options.heapDevice, stride: stride, memory: memory, mappedLength: length, backing: .heap)
        } catch {
            try? fd.close()
            throw error
        }
    }

    private static func makeDumb(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let directory = options.driDirectory
        let cards: [(number: Int, name: String)]
        do throws(Errno) {
            cards = try cardNodes(in: directory)
        } catch {
            throw .system(call: "opendir \(directory)", errno: error, hint: openHint(device: "dri", path: directory, errno: error))
        }
        guard !cards.isEmpty else {
            throw .unusable("no DRM device: no card* node in \(directory) (no GPU driver loaded; `modprobe vgem` adds a virtual one)")
        }
        var rejected: [String] = []
        for card in cards {
            let path = directory.hasSuffix("/") ? directory + card.name : directory + "/" + card.name
            let fd: FileDescriptor
            do throws(Failure) {
                fd = try open(path, O_RDWR, device: "dri")
            } catch {
                rejected.append("\(path): \(error)")
                continue
            }
            let name = driverName(fd)
            let label = name.map { "\(path) (\($0))" } ?? path
            // KMS drivers answer DRM_CAP_DUMB_BUFFER; render-only ones (vgem) refuse every KMS cap
            // with EOPNOTSUPP yet may still create dumb buffers, so those are tried.
            var dumb: UInt64 = 0
            var capabilityKnown = true
            if drmGetCap(fd.rawValue, UInt64(DRM_CAP_DUMB_BUFFER), &dumb) != 0 {
                let errno = Errno.current
                guard errno == .notSupported else {
                    rejected.append("\(label): drmGetCap(DRM_CAP_DUMB_BUFFER) failed: \(errno.symbolicDescription)")
                    try? fd.close()
                    continue
                }
                capabilityKnown = false
            } else if dumb == 0 {
                rejected.append("\(label): no dumb buffers (DRM_CAP_DUMB_BUFFER is 0)")
                try? fd.close()
                continue
            }
            var prime: UInt64 = 0
            guard drmGetCap(fd.rawValue, UInt64(DRM_CAP_PRIME), &prime) == 0, prime & UInt64(DRM_PRIME_CAP_EXPORT) != 0 else {
                rejected.append("\(label): cannot export buffers (no DRM_PRIME_CAP_EXPORT)")
                try? fd.close()
                continue
            }
            do throws(Failure) {
                return try makeDumb(on: fd, label: label, width: width, height: height)
            } catch {
                try? fd.close()
                // A card that claims dumb buffers and fails is this strategy's failure; one that
                // could not say (render-only) just is not the card.
                if capabilityKnown { throw error }
                rejected.append("\(label): DRM_CAP_DUMB_BUFFER unanswered (EOPNOTSUPP: no KMS) and \(error)")
            }
        }
        throw .unusable("no DRM device with dumb buffers: " + rejected.joined(separator: ", "))
    }

    /// Creates, maps and exports a dumb buffer on `card` (which the result then owns).
    private static func makeDumb(on card: FileDescriptor, label: String, width: Int, height: Int) throws(Failure) -> Made {
        var dumb = cdrm_dumb()
        var result = cdrm_create_dumb(card.rawValue, UInt32(width), UInt32(height), 32, &dumb)
        guard result == 0 else {
            throw .system(call: "DRM_IOCTL_MODE_CREATE_DUMB on \(label)", errno: Errno(rawValue: -result), hint: nil)
        }
        var mapOffset: UInt64 = 0
        var memory: UnsafeMutableRawPointer?
        var prime: Int32 = -1
        do throws(Failure) {
            result = cdrm_map_dumb(card.rawValue, dumb.handle, &mapOffset)
            guard result == 0 else {
                throw .system(call: "DRM_IOCTL_MODE_MAP_DUMB on \(label)", errno: Errno(rawValue: -result), hint: nil)
            }
            memory = try map(card.rawValue, length: Int(dumb.size), offset: off_t(Int64(bitPattern: mapOffset)), call: "mmap of the dumb buffer on \(label)")
            // DRM_CLOEXEC | DRM_RDWR: the compositor (and this process) may map the dma-buf writable.
            guard drmPrimeHandleToFD(card.rawValue, dumb.handle, UInt32(O_CLOEXEC | O_RDWR), &prime) == 0, prime >= 0 else {
                throw .system(call: "drmPrimeHandleToFD(DRM_CLOEXEC|DRM_RDWR) on \(label)", errno: .current, hint: nil)
            }
        } catch {
            if let memory { munmap(memory, Int(dumb.size)) }
            _ = cdrm_destroy_dumb(card.rawValue, dumb.handle)
            throw error
        }
        return Made(fd: FileDescriptor(rawValue: prime), device: label, stride: Int(dumb.pitch), memory: memory!,
                    mappedLength: Int(dumb.size), backing: .dumb(card: card, handle: dumb.handle))
    }

    /// `card<N>` entries of `directory`, by N.
    static func cardNodes(in directory: String) throws(Errno) -> [(number: Int, name: String)] {
        guard let dir = opendir(directory) else { throw Errno.current }
        defer { closedir(dir) }
        var found: [(number: Int, name: String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard name.hasPrefix("card"), let number = Int(name.dropFirst(4)), number >= 0 else { continue }
            found.append((number, name))
        }
        return found.sorted { $0.number < $1.number }
    }

    private static func driverName(_ fd: FileDescriptor) -> String? {
        guard let version = drmGetVersion(fd.rawValue) else { return nil }
        defer { drmFreeVersion(version) }
        guard let name = version.pointee.name, version.pointee.name_len > 0 else { return nil }
        return String(cString: name)
    }

    /// `/sys/module/udmabuf/parameters/size_limit_mb`, if readable (udmabuf's default is 64).
    static func udmabufSizeLimitMB() -> Int? {
        guard let fd = try? FileDescriptor.open("/sys/module/udmabuf/parameters/size_limit_mb", .readOnly, options: .closeOnExec) else {
            return nil
        }
        defer { try? fd.close() }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard let count = try? bytes.withUnsafeMutableBytes({ try fd.read(into: $0) }), count > 0 else { return nil }
        let digits = String(decoding: bytes[..<count], as: UTF8.self).filter { $0.isNumber }
        return Int(digits)
    }

    // MARK: Explaining errnos

    /// What an `open` failure means for each kind of device.
    static func openHint(device: String, path: String, errno: Errno) -> String? {
        switch (device, errno) {
        case ("udmabuf", .noSuchFileOrDirectory):
            return "no udmabuf device (kernel without CONFIG_UDMABUF, or the udmabuf module is not loaded)"
        case ("heap", .noSuchFileOrDirectory):
            return "no system dma-heap (kernel without CONFIG_DMABUF_HEAPS_SYSTEM)"
        case ("dri", .noSuchFileOrDirectory):
            return "no DRM device (no GPU driver loaded; `modprobe vgem` adds a virtual one)"
        case (_, .permissionDenied), (_, .notPermitted):
            return "no permission to open \(path) read-write (root, or the device's group)"
        default:
            return nil
        }
    }

    /// What the kernel means by each `UDMABUF_CREATE` errno (drivers/dma-buf/udmabuf.c), made
    /// specific with what is known about the request: the memfd's seals (`F_GET_SEALS`, or nil),
    /// its size and the module's `size_limit_mb`.
    public static func udmabufCreateHint(errno: Errno, seals: Int32?, size: Int, pageSize: Int, sizeLimitMB: Int?) -> String? {
        switch errno.rawValue {
        case EINVAL:
            if let seals, seals >= 0 {
                let shown = "F_GET_SEALS 0x" + String(seals, radix: 16)
                if seals & Int32(CW_F_SEAL_SHRINK) == 0 { return "the memfd lacks F_SEAL_SHRINK (\(shown))" }
                if seals & Int32(CW_F_SEAL_WRITE) != 0 { return "the memfd carries F_SEAL_WRITE, which udmabuf rejects (\(shown))" }
            }
            if size % pageSize != 0 { return "the size \(size) is not a multiple of the page size \(pageSize)" }
            if let sizeLimitMB, size > sizeLimitMB * 1024 * 1024 {
                return "\(size) bytes exceeds udmabuf's size_limit_mb=\(sizeLimitMB)"
            }
            return "the memfd lacks F_SEAL_SHRINK or carries F_SEAL_WRITE, or the offset or size is not page-aligned, "
                + "lies beyond the memfd or exceeds udmabuf's size_limit_mb"
        case EBADFD:
            return "the descriptor is not a memfd (udmabuf takes shmem or hugetlbfs files only)"
        case EBADF:
            return "the memfd descriptor is not open"
        case ENOTTY:
            return "the device does not know UDMABUF_CREATE (not a udmabuf device)"
        case ENOMEM:
            return "out of memory pinning the memfd's pages"
        default:
            return nil
        }
    }
}

/// No strategy could make the dma-buf. Lists every attempt, in order.
public struct DmaBufError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was asked for (`automatic` for the whole chain).
    public var requested: DmaBuf.Strategy
    /// One entry per strategy tried, in order.
    public var attempts: [DmaBuf.Attempt]

    public init(requested: DmaBuf.Strategy, attempts: [DmaBuf.Attempt]) {
        self.requested = requested
        self.attempts = attempts
    }

    public var description: String {
        "cannot allocate a dma-buf (\(requested)): " + attempts.map(\.description).joined(separator: "; ")
    }
}
