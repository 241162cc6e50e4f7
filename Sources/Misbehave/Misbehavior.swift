import ClientKit
import CWayland
@_exported import Policies
import Glibc
import SystemPackage

/// Deliberate protocol violations (and legal but hostile sequences), for checking that a
/// compositor reacts as the protocol and its seal policy say.
///
/// To add one: a case, its summary, its row in `expected(policy:)`, and a branch in `run`.
public enum Misbehavior: String, Sendable, CaseIterable {
    case attachBeforeConfigure = "attach-before-configure"
    /// Legal but nasty: exercises destroy orderings a compositor must survive.
    case destroyOrderings = "destroy-orderings"
    case unsealedMemfd = "unsealed-memfd"
    case unsealableMemfd = "unsealable-memfd"
    /// A pool on a disk file: not shared memory.
    case diskFile = "disk-file"
    /// A pool on a file of the client's own FUSE file system, whose daemon then stalls.
    case fusePool = "fuse-pool"
    case truncateAfterCommit = "truncate-after-commit"
    case poolLargerThanFile = "pool-larger-than-file"
    case resizeBeyondFile = "resize-beyond-file"
    case shrinkPool = "shrink-pool"
    case strideTooSmall = "stride-too-small"
    case strideUnaligned = "stride-unaligned"
    case offsetOutOfBounds = "offset-out-of-bounds"
    case sizeOverflow = "size-overflow"
    case unknownFormat = "unknown-format"
    case nonFileFD = "non-file-fd"
    case zeroSizePool = "zero-size-pool"
    /// Legal: buffers outlive their pool.
    case bufferAfterPoolDestroy = "buffer-after-pool-destroy"
    case useAfterDestroy = "use-after-destroy"
    case dmabufOutOfBoundsPlane = "dmabuf-out-of-bounds-plane"
    case dmabufMissingPlane = "dmabuf-missing-plane"
    case dmabufNotADmabuf = "dmabuf-not-a-dmabuf"
    case dmabufUnadvertisedModifier = "dmabuf-unadvertised-modifier"
    case dmabufReusedParams = "dmabuf-reused-params"
    /// A stuck client: it keeps asking for answers and never reads them.
    case neverRead = "never-read"
    /// Legal but greedy: buffers are never reused nor destroyed, and one stays attached forever.
    case hoardBuffers = "hoard-buffers"
    /// Greedy past the limit: 1 GiB pools over sparse memfds until refused (--max-client-memory).
    case oversized = "oversized"
    /// A sealed hugetlbfs memfd whose pages the client never touches (issue 16).
    case hugetlbHole = "hugetlb-hole"

    /// How a correct compositor reacts to one misbehaviour.
    public enum Expectation: Sendable, Hashable, CustomStringConvertible {
        /// A fatal protocol error on an object of `interface` with this code.
        case error(interface: String, code: UInt32)
        /// No error: the client goes on rendering (and exits 0).
        case renders
        /// The compositor closes the connection without an error event: a client that never
        /// reads its socket cannot receive one (`never-read`).
        case disconnected

        public var description: String {
            switch self {
            case let .error(interface, code):
                let name = Misbehavior.errorName(interface: interface, code: code).map { " (\($0))" } ?? ""
                return "\(interface) error \(code)\(name)"
            case .renders:
                return "renders"
            case .disconnected:
                return "disconnected without an error event"
            }
        }
    }

    /// The reaction of a correct compositord running with `--seal-policy policy`.
    public func expected(policy: SealPolicy) -> Expectation {
        switch self {
        case .unsealedMemfd, .unsealableMemfd:
            // enforce seals the first and guards the second; strict wants the client's own seal.
            return policy == .strict ? .error(interface: "wl_shm", code: 2) : .renders
        case .diskFile:
            return policy == .guardOnly ? .renders : .error(interface: "wl_shm", code: 2)
        case .fusePool:
            // Not shared memory, told without calling into the file system; guard accepts it, and
            // its reads of the pool wait on the client's daemon (for 2 s: see `fusePool()`).
            return policy == .guardOnly ? .renders : .error(interface: "wl_shm", code: 2)
        case .truncateAfterCommit:
            // Under strict the shm_open pool is refused outright, before anything is truncated.
            return policy == .strict ? .error(interface: "wl_shm", code: 2) : .error(interface: "wl_buffer", code: 2)
        case .poolLargerThanFile: return .error(interface: "wl_shm", code: 2)
        case .resizeBeyondFile: return .error(interface: "wl_shm_pool", code: 2)
        case .shrinkPool, .strideTooSmall, .strideUnaligned, .offsetOutOfBounds, .sizeOverflow:
            return .error(interface: "wl_shm_pool", code: 1)
        case .unknownFormat: return .error(interface: "wl_shm_pool", code: 0)
        case .nonFileFD: return .error(interface: "wl_shm", code: 2)
        case .zeroSizePool: return .error(interface: "wl_shm", code: 1)
        case .bufferAfterPoolDestroy, .destroyOrderings, .hoardBuffers: return .renders
        // Past --max-client-memory (default 64 GiB): the 65th 1 GiB pool; wl_shm has no error for
        // "too much", so compositord answers as libwayland does when it cannot allocate.
        case .oversized: return .error(interface: "wl_display", code: 2)
        // Where no huge page is free (HugePages_Free 0, as on the project's host and VM), mapping
        // the pool needs a huge page reserved for it: compositord's mmap fails (ENOMEM) and the
        // pool is refused with invalid_fd under every policy (strict too: the file carries
        // F_SEAL_SHRINK). With free huge pages the mode punches the hole, takes them, and asks for
        // a screencopy frame: the guarded read faults and the buffer gets wl_buffer error 2.
        case .hugetlbHole: return .error(interface: "wl_shm", code: 2)
        // libwayland-server's buffer for the client fills; it then drops the client (in 1.21:
        // "error in client communication").
        case .neverRead: return .disconnected
        case .useAfterDestroy:
            // libwayland-server checks a request's object arguments before the compositor sees
            // the request, and answers an unknown one with invalid_method ("invalid arguments
            // for wl_surface@N.attach"); invalid_object (0) is for requests sent *to* an
            // unknown object.
            return .error(interface: "wl_display", code: 1)
        case .attachBeforeConfigure: return .error(interface: "xdg_surface", code: 3)
        // dma-bufs are not pool files: the seal policy plays no part.
        case .dmabufOutOfBoundsPlane: return .error(interface: "zwp_linux_buffer_params_v1", code: 6)
        case .dmabufMissingPlane: return .error(interface: "zwp_linux_buffer_params_v1", code: 3)
        case .dmabufNotADmabuf: return .error(interface: "zwp_linux_buffer_params_v1", code: 7)
        case .dmabufUnadvertisedModifier: return .error(interface: "zwp_linux_buffer_params_v1", code: 4)
        case .dmabufReusedParams: return .error(interface: "zwp_linux_buffer_params_v1", code: 0)
        }
    }

    /// True for the modes that use `zwp_linux_dmabuf_v1` (the compositor must offer it).
    public var usesDmabuf: Bool { rawValue.hasPrefix("dmabuf-") }

    /// True when every policy forbids the mode: a compositor that lets it pass is wrong whatever
    /// its policy (demo-client then exits 2).
    public var isForbiddenUnderEveryPolicy: Bool {
        SealPolicy.allCases.allSatisfy { expected(policy: $0) != .renders }
    }

    /// True when the sequence is legal under every policy.
    public var isLegal: Bool {
        SealPolicy.allCases.allSatisfy { expected(policy: $0) == .renders }
    }

    /// The protocol error under the default policy (enforce), nil if the mode is tolerated there.
    public var expectedError: (interface: String, code: UInt32)? {
        if case let .error(interface, code) = expected(policy: .enforce) { return (interface, code) }
        return nil
    }

    /// One sentence: what the client does.
    public var summary: String {
        switch self {
        case .attachBeforeConfigure:
            return "Creates a toplevel and attaches and commits a buffer before acking the first configure."
        case .destroyOrderings:
            return "Destroys a wl_buffer while it is on screen, destroys a surface with committed and uncommitted frame callbacks, then leaves mid-frame."
        case .unsealedMemfd:
            return "Creates a pool from a memfd made with MFD_ALLOW_SEALING but never sealed, then tries to shrink the file by a page if the compositor sealed it (the kernel must say EPERM)."
        case .unsealableMemfd:
            return "Creates a pool from a memfd made without MFD_ALLOW_SEALING (it can never be sealed)."
        case .diskFile:
            return "Creates a pool from an unlinked file on a disk file system ($TMPDIR, /var/tmp or /tmp, whichever is not tmpfs): not shared memory."
        case .fusePool:
            return "Serves its own FUSE file system (root and /dev/fuse needed) and creates a pool from its 32 KiB file, while the daemon holds every request of other processes: 2 s each (FLUSH until the client exits). If the pool is accepted, shows it and asks for a screencopy, which composites it, printing how long the frame took (the compositor's read of the pool waits on the daemon), then releases the daemon and renders."
        case .truncateAfterCommit:
            return "Renders a frame from an shm_open pool, truncates the file to 0 bytes, then re-attaches and commits the same buffer."
        case .poolLargerThanFile:
            return "Creates a pool of 8192 bytes over a sealed 4096-byte memfd."
        case .resizeBeyondFile:
            return "Resizes a pool over a sealed 4096-byte memfd to 8192 bytes without growing the file, then commits a 16x16 buffer at offset 4096."
        case .shrinkPool:
            return "Creates a pool holding 2 buffers, then resizes it to half its size."
        case .strideTooSmall:
            return "Creates a 64x64 XRGB8888 buffer with stride 252 (width * 4 - 4)."
        case .strideUnaligned:
            return "Creates a 64x64 XRGB8888 buffer with stride 257 (width * 4 + 1)."
        case .offsetOutOfBounds:
            return "Creates a 64x64 buffer at offset pool size - 4."
        case .sizeOverflow:
            return "Creates a 65536x65536 buffer with stride 262144 (stride * height overflows int32) in a 32 KiB pool."
        case .unknownFormat:
            return "Creates a buffer with format 0x20203843 ('C8'), which wl_shm does not advertise."
        case .nonFileFD:
            return "Creates a pool from one end of a pipe."
        case .zeroSizePool:
            return "Creates a pool of size 0."
        case .bufferAfterPoolDestroy:
            return "Creates buffers, destroys their wl_shm_pool, then renders with the buffers (legal)."
        case .useAfterDestroy:
            return "Destroys a wl_buffer on the server while keeping the proxy, then attaches it and commits."
        case .dmabufOutOfBoundsPlane:
            return "Adds a dma-buf plane (stride 256) at an offset that makes a 64x64 XR24 buffer end 4096 bytes past the dma-buf, then create_immed."
        case .dmabufMissingPlane:
            return "Sends zwp_linux_buffer_params_v1.create_immed for a 64x64 XR24 buffer without adding any plane."
        case .dmabufNotADmabuf:
            return "Adds a sealed memfd (not a dma-buf) as plane 0 of a valid 64x64 XR24 LINEAR buffer, then create_immed."
        case .dmabufUnadvertisedModifier:
            return "Adds a dma-buf plane with a modifier the compositor did not advertise (0x100000000000001, Intel X-tiled, or another), then create_immed."
        case .dmabufReusedParams:
            return "Creates a buffer from a zwp_linux_buffer_params_v1, then sends create_immed on the same params again."
        case .neverRead:
            return "Maps a window, then commits with frame callbacks and sends wl_display.sync in a loop without ever reading its socket."
        case .oversized:
            return "Creates 1 GiB pools, each over its own sealed memfd sized with ftruncate and never written (no page is touched), one after another until refused (at most 128: 128 GiB of address space)."
        case .hugetlbHole:
            return "Creates a 2 MiB pool over a memfd made with MFD_HUGETLB and sealed F_SEAL_SHRINK, never touched, and commits a 64x64 buffer of it; with free huge pages it first faults the page in once, punches it out (MADV_REMOVE) and takes every free huge page, then asks for a screencopy frame so that the compositor reads the buffer."
        case .hoardBuffers:
            return "Attaches a new 64x64 buffer every frame (its pool grows) and never reuses or destroys one, then keeps one buffer attached and draws into it while the compositor holds it (legal; hurts only itself)."
        }
    }

    /// One sentence: how a correct compositor reacts, per policy.
    public var expectedReaction: String {
        func text(_ expectation: Expectation) -> String {
            expectation == .renders ? "no error, keeps rendering" : "\(expectation)"
        }
        let all = SealPolicy.allCases.map { expected(policy: $0) }
        if Set(all).count == 1 { return "any policy: \(text(all[0]))" }
        return SealPolicy.allCases.map { "\($0): \(text(expected(policy: $0)))" }.joined(separator: "; ")
    }

    /// The protocol's name for an error code, where this kit knows it.
    static func errorName(interface: String, code: UInt32) -> String? {
        switch (interface, code) {
        case ("wl_display", 0): return "invalid_object"
        case ("wl_display", 1): return "invalid_method"
        case ("wl_display", 2): return "no_memory"
        case ("wl_display", 3): return "implementation"
        case ("wl_shm", _), ("wl_shm_pool", _), ("wl_buffer", _):
            // wl_shm's error enum, posted on whichever object was at fault.
            return ["invalid_format", "invalid_stride", "invalid_fd"][safe: Int(code)]
        case ("xdg_surface", 1): return "not_constructed"
        case ("xdg_surface", 2): return "already_constructed"
        case ("xdg_surface", 3): return "unconfigured_buffer"
        case ("zwp_linux_buffer_params_v1", _):
            return ["already_used", "plane_idx", "plane_set", "incomplete", "invalid_format", "invalid_dimensions",
                    "out_of_bounds", "invalid_wl_buffer"][safe: Int(code)]
        default: return nil
        }
    }

    /// Does the violation, then (if the compositor let it pass) renders `frames` frames of the
    /// demo pattern, with the misbehaving pool's buffers where they are usable.
    ///
    /// `report` gets one line, `misbehave <mode>: <what it did>`, as soon as the violation is
    /// queued. Returns the render summary (nil for `destroy-orderings`, which ends by leaving
    /// mid-frame). Throws the compositor's `ProtocolError`, or `ClientError.interrupted`.
    /// `width`/`height` size the ordinary buffers some modes draw with; the misbehaving pools
    /// use the fixed sizes in `summary`. `anonymousFile` makes those ordinary pools only: the
    /// misbehaving ones are memfds (or shm_open) by definition.
    ///
    /// The dma-buf modes (`usesDmabuf`) allocate their plane with `dmabufSource` and, when no
    /// dma-buf can be had (no device, as on most hosts), use a sealed memfd of the same size
    /// instead; they report which as `dmabuf-source: <strategy>` or `dmabuf-source: memfd (...)`.
    /// A compositor that checks the violation before importing reacts the same to both.
    public func run(
        context: ClientContext, frames: Int = 30, width: Int = 64, height: Int = 64,
        anonymousFile: AnonymousFile.Strategy = .automatic, dmabufSource: DmaBuf.Strategy = .automatic,
        timeout: Duration? = nil, report: (String) -> Void
    ) throws -> FrameLoop.Summary? {
        try withoutActuallyEscaping(report) { report in
            let runner = MisbehaviorRunner(
                mode: self, context: context, frames: frames, width: width, height: height,
                anonymousFile: anonymousFile, dmabufSource: dmabufSource, timeout: timeout, report: report)
            return try runner.run()
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// The steps of each mode. Raw requests go through the module's internals, where ClientKit's
/// safe types would refuse to send them.
private struct MisbehaviorRunner {
    let mode: Misbehavior
    let context: ClientContext
    let frames: Int
    let width: Int
    let height: Int
    let anonymousFile: AnonymousFile.Strategy
    let dmabufSource: DmaBuf.Strategy
    let timeout: Duration?
    let report: (String) -> Void

    /// Misbehaving pools hold 64x64 XRGB8888 buffers.
    static let side = 64
    static let stride = 256
    static let bufferSize = stride * side
    /// How long to wait for a frame the compositor might never complete.
    static let frameGrace = Duration.seconds(5)

    var shm: Shm { context.shm }
    var connection: Connection { context.connection }

    func say(_ what: String) { report("misbehave \(mode.rawValue): \(what)") }

    func run() throws -> FrameLoop.Summary? {
        switch mode {
        case .attachBeforeConfigure: return try attachBeforeConfigure()
        case .destroyOrderings: try destroyOrderings(); return nil
        case .unsealedMemfd: return try memfdWithoutSeals(allowSealing: true)
        case .unsealableMemfd: return try memfdWithoutSeals(allowSealing: false)
        case .diskFile: return try diskFile()
        case .fusePool: return try fusePool()
        case .truncateAfterCommit: return try truncateAfterCommit()
        case .poolLargerThanFile: return try poolLargerThanFile()
        case .resizeBeyondFile: return try resizeBeyondFile()
        case .shrinkPool: return try shrinkPool()
        case .strideTooSmall:
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 64 * 4 - 4, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 XRGB8888 buffer with stride 252 (needs at least 256)")
        case .strideUnaligned:
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 64 * 4 + 1, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 XRGB8888 buffer with stride 257 (not a multiple of 4)")
        case .offsetOutOfBounds:
            let poolSize = 2 * Self.bufferSize
            return try badBuffer(offset: Int32(poolSize - 4), width: 64, height: 64, stride: 256, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 buffer (16384 bytes) at offset \(poolSize - 4) of a \(poolSize)-byte pool")
        case .sizeOverflow:
            return try badBuffer(offset: 0, width: 65536, height: 65536, stride: 262144, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 65536x65536 buffer with stride 262144 (2^34 bytes) in a \(2 * Self.bufferSize)-byte pool")
        case .unknownFormat:
            let format: UInt32 = 0x2020_3843
            let advertised = shm.formats.contains(format)
            let note = advertised
                ? "which wl_shm DOES advertise, so this proves nothing"
                : "not among the \(shm.formats.count) formats wl_shm advertised"
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 256, format: format,
                                 what: "created a 64x64 buffer with format 0x20203843 ('C8'), \(note)")
        case .nonFileFD: return try nonFileFD()
        case .zeroSizePool: return try zeroSizePool()
        case .bufferAfterPoolDestroy: return try bufferAfterPoolDestroy()
        case .useAfterDestroy: return try useAfterDestroy()
        case .dmabufOutOfBoundsPlane: return try dmabufOutOfBoundsPlane()
        case .dmabufMissingPlane: return try dmabufMissingPlane()
        case .dmabufNotADmabuf: return try dmabufNotADmabuf()
        case .dmabufUnadvertisedModifier: return try dmabufUnadvertisedModifier()
        case .dmabufReusedParams: return try dmabufReusedParams()
        case .neverRead: return try neverRead()
        case .hoardBuffers: return try hoardBuffers()
        case .oversized: return try oversized()
        case .hugetlbHole: return try hugetlbHole()
        }
    }

    // MARK: Helpers

    /// A toplevel whose first configure has been acked, so later violations are the only ones.
    func mappedWindow() throws -> Toplevel {
        let toplevel = Toplevel(context: context, title: "demo-client (\(mode.rawValue))", appID: "demo-client")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the first configure")
        return toplevel
    }

    func roundtrip(_ what: String = "the compositor's reaction") throws {
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: what)
    }

    /// Renders the demo pattern with `buffers` for `frames` frames.
    func render<Buffer: WaylandBuffer>(_ toplevel: Toplevel, _ buffers: BufferSet<Buffer>) throws -> FrameLoop.Summary {
        let loop = FrameLoop(toplevel: toplevel, buffers: buffers) { buffer, frame in
            try DemoPattern.draw(into: buffer, frame: frame)
        }
        let summary = try loop.run(frames: frames, timeout: timeout)
        if summary.stopReason == .interrupted { throw ClientError.interrupted }
        try roundtrip("the last frame")
        return summary
    }

    /// An ordinary buffer set (the `--anon-file` strategy), for modes whose own buffers are unusable.
    func ordinaryBuffers() throws -> BufferSet<ShmBuffer> {
        let set = try BufferSet(shm: shm, width: width, height: height, strategy: anonymousFile)
        report("anon-file: \(set.anonymousFileStrategy)")
        return set
    }

    /// A sealed memfd (F_SEAL_SHRINK) of `size` bytes: the violation is never the file itself.
    func sealedMemfd(size: Int) throws -> AnonymousFile {
        try AnonymousFile(size: size, strategy: .memfd, options: .init(name: "demo-client-\(mode.rawValue)"))
    }

    /// Buffers `side` x `side` at `offsets` of `pool`, as a set FrameLoop can draw with.
    func bufferSet(_ pool: ShmPool, side: Int = MisbehaviorRunner.side, offsets: [Int]) -> BufferSet<ShmBuffer> {
        BufferSet(pool: pool, buffers: offsets.map {
            ShmBuffer(pool: pool, offset: $0, width: side, height: side, format: .xrgb8888)
        })
    }

    /// A memfd created with these flags and no seals, filled to `size`.
    func unsealedMemfd(size: Int, allowSealing: Bool) throws -> AnonymousFile {
        let flags = UInt32(CW_MFD_CLOEXEC) | (allowSealing ? UInt32(CW_MFD_ALLOW_SEALING) : 0)
        let raw = cw_memfd_create("demo-client-\(mode.rawValue)", flags)
        guard raw >= 0 else { throw ClientError.system(operation: "memfd_create", errno: .current) }
        let fd = FileDescriptor(rawValue: raw)
        do throws(AnonymousFile.Failure) {
            try AnonymousFile.allocate(fd, size: size)
        } catch {
            try? fd.close()
            throw ClientError.system(operation: "sizing the memfd", errno: error.errno ?? .invalidArgument)
        }
        return AnonymousFile(adopting: fd, size: size, strategy: .memfd, name: "demo-client-\(mode.rawValue)")
    }

    static func hex(_ value: Int32) -> String { "0x" + String(UInt32(bitPattern: value), radix: 16) }

    // MARK: Modes

    func attachBeforeConfigure() throws -> FrameLoop.Summary? {
        let buffers = try ordinaryBuffers()
        let toplevel = Toplevel(context: context, title: "demo-client (misbehaving)", appID: "demo-client")
        guard let buffer = buffers.freeBuffer() else { preconditionFailure("no free buffer") }
        DemoPattern.draw(into: buffer, frame: 0)
        // Nothing was dispatched since the initial commit, so no configure can have been acked.
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
        toplevel.surface.commit()
        say("attached and committed a buffer before the first configure")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func destroyOrderings() throws {
        let buffers = try ordinaryBuffers()
        // 1. A mapped window whose wl_buffer is destroyed while attached: the compositor must
        //    keep reading its pixels safely and still complete frames.
        var toplevel: Toplevel? = try mappedWindow()
        let shown = buffers.buffers[0]
        DemoPattern.draw(into: shown, frame: 0)
        let first = toplevel!.present(shown)!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
        shown.destroy()
        let afterDestroy = toplevel!.surface.requestFrame()
        toplevel!.surface.commit()
        try connection.wait(timeout: timeout) { afterDestroy.isDone }
            .orThrow(waitingFor: "a frame after destroying the attached buffer")

        // 2. The surface destroyed with frame callbacks pending, one committed, one not.
        let committed = toplevel!.surface.requestFrame()
        toplevel!.surface.commit()
        let uncommitted = toplevel!.surface.requestFrame()
        toplevel = nil  // xdg_toplevel, xdg_surface, then wl_surface
        try roundtrip("the compositor after the surface went")
        withExtendedLifetime((committed, uncommitted)) {}

        // 3. Gone mid-frame: a new window commits a buffer and the client leaves at once.
        let last = try mappedWindow()
        let leaving = buffers.buffers[1]
        DemoPattern.draw(into: leaving, frame: 1)
        last.present(leaving)
        try connection.flush()
        say("destroyed an attached wl_buffer, destroyed a surface with pending frame callbacks, committed and left mid-frame")
        withExtendedLifetime(last) {}
    }

    func memfdWithoutSeals(allowSealing: Bool) throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let file = try unsealedMemfd(size: size, allowSealing: allowSealing)
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let how = allowSealing ? "with MFD_ALLOW_SEALING but no seals" : "without MFD_ALLOW_SEALING"
        say("created a wl_shm_pool from a \(size)-byte memfd \(how) (F_GET_SEALS \(Self.hex(file.seals)))")
        try roundtrip()
        if allowSealing { try tryToShrink(file, size: size) }
        return try render(toplevel, buffers)
    }

    /// After the pool was accepted: a compositor that enforces the rule has sealed the file, and
    /// the kernel now refuses to shrink it. Where it did not seal (`guard`), nothing is tried: the
    /// shrink would succeed and the compositor would have to catch it (truncate-after-commit).
    func tryToShrink(_ file: AnonymousFile, size: Int) throws {
        let seals = fcntl(file.fileDescriptor.rawValue, Int32(CW_F_GET_SEALS))
        guard seals >= 0, seals & Int32(CW_F_SEAL_SHRINK) != 0 else {
            say("the pool is still unsealed (F_GET_SEALS \(Self.hex(seals))): the compositor reads it under its SIGBUS guard")
            return
        }
        let smaller = size - 4096
        let result = ftruncate(file.fileDescriptor.rawValue, off_t(smaller)) == 0
            ? "succeeded, so the kernel ignored the seal" : Errno.current == .notPermitted ? "EPERM (\(Errno.notPermitted))" : "\(Errno.current)"
        say("the compositor sealed the pool (F_GET_SEALS now \(Self.hex(seals))); ftruncate to \(smaller) bytes: \(result)")
    }

    func diskFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let (fd, directory, fileSystem) = try Self.diskFile()
        let file: AnonymousFile
        do throws(AnonymousFile.Failure) {
            try AnonymousFile.allocate(fd, size: size)
            file = AnonymousFile(adopting: fd, size: size, strategy: .runtimeDirFile, name: "\(directory)/demo-client-disk-file")
        } catch {
            try? fd.close()
            throw ClientError.system(operation: "sizing the disk file", errno: error.errno ?? .invalidArgument)
        }
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        say("created a wl_shm_pool from a \(size)-byte unlinked file in \(directory) (\(fileSystem), not shared memory)")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    /// An unlinked file in the first of $TMPDIR, /var/tmp, /tmp that is not on tmpfs or ramfs.
    static func diskFile() throws -> (FileDescriptor, String, String) {
        let candidates = [getenv("TMPDIR").map { String(cString: $0) }, "/var/tmp", "/tmp"].compactMap { $0 }
        for directory in candidates {
            var template = Array("\(directory)/demo-client-disk-XXXXXX".utf8CString)
            let raw = template.withUnsafeMutableBufferPointer { cw_mkostemp($0.baseAddress!, O_CLOEXEC) }
            guard raw >= 0 else { continue }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            let type = cw_fs_type(raw)  // tmpfs, ramfs and hugetlbfs are memory
            guard ![0x0102_1994, 0x8584_58f6, 0x9584_58f6].contains(type) else { close(raw); continue }
            return (FileDescriptor(rawValue: raw), directory, "file system type 0x\(String(type, radix: 16))")
        }
        throw ClientError.system(operation: "finding a directory on a disk file system in \(candidates.joined(separator: ", "))", errno: .noSuchFileOrDirectory)
    }

    func truncateAfterCommit() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let file = try AnonymousFile(size: size, strategy: .shmOpen, options: .init(name: "demo-client-truncate"))
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        say("rendered frame 0 from a \(size)-byte shm_open pool, truncated the file to 0 bytes, then re-attached and committed the same buffer")
        let buffer = buffers.buffers[0]
        DemoPattern.draw(into: buffer, frame: 0)
        let first = toplevel.present(buffer)!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")

        // From here on the client must not touch the mapping either: it lies past EOF.
        guard ftruncate(file.fileDescriptor.rawValue, 0) == 0 else {
            throw ClientError.system(operation: "ftruncate", errno: .current)
        }
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
        let again = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        // The compositor reads the pixels when it repaints; give it that long to object.
        try connection.wait(timeout: Self.frameGrace) { again.isDone }
        try roundtrip()

        // Tolerated: give the file its size back (zero-filled) and carry on with the same pool.
        guard ftruncate(file.fileDescriptor.rawValue, off_t(size)) == 0 else {
            throw ClientError.system(operation: "ftruncate", errno: .current)
        }
        return try render(toplevel, buffers)
    }

    func poolLargerThanFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = try ShmPool(shm: shm, file: file, declaredSize: 8192)
        // Only the part backed by the file is drawn into: two 16x16 buffers.
        let buffers = bufferSet(pool, side: 16, offsets: [0, 1024])
        say("created a wl_shm_pool of 8192 bytes over a 4096-byte memfd sealed \(Self.hex(file.seals))")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func resizeBeyondFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, side: 16, offsets: [0, 1024])
        pool.sendResize(8192)
        let beyond = pool.makeRawBufferProxy(offset: 4096, width: 16, height: 16, stride: 64, format: ShmFormat.xrgb8888.rawValue)
        wl_surface_attach(toplevel.surface.proxy, beyond, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: 16, height: 16)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        say("resized a pool over a 4096-byte memfd sealed \(Self.hex(file.seals)) to 8192 without growing the file, then committed a 16x16 buffer at offset 4096")
        try connection.wait(timeout: Self.frameGrace) { frame.isDone }
        try roundtrip()
        wl_buffer_destroy(beyond)
        return try render(toplevel, buffers)
    }

    func shrinkPool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: size))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        pool.sendResize(Int32(size / 2))
        say("created a \(size)-byte pool holding 2 buffers, then resized it to \(size / 2)")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    /// A pool of two good 64x64 buffers plus one made with these (bad) arguments.
    func badBuffer(offset: Int32, width: Int32, height: Int32, stride: Int32, format: UInt32, what: String) throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 2 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let bad = pool.makeRawBufferProxy(offset: offset, width: width, height: height, stride: stride, format: format)
        say(what)
        try roundtrip()
        wl_buffer_destroy(bad)
        return try render(toplevel, buffers)
    }

    func nonFileFD() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer {
            try? readEnd.close()
            try? writeEnd.close()
        }
        let pool = wl_shm_create_pool(shm.proxy, readEnd.rawValue, 4096)!
        say("created a 4096-byte wl_shm_pool from the read end of a pipe")
        try roundtrip()
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }

    func zeroSizePool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = wl_shm_create_pool(shm.proxy, file.fileDescriptor.rawValue, 0)!
        say("created a wl_shm_pool of size 0 over a 4096-byte sealed memfd")
        try roundtrip()
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }

    func bufferAfterPoolDestroy() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 2 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        pool.destroyProxy()  // the mapping stays: the buffers still need it
        say("created 2 buffers, destroyed their wl_shm_pool, and renders with the buffers")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func useAfterDestroy() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 3 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let victim = ShmBuffer(pool: pool, offset: 2 * Self.bufferSize, width: Self.side, height: Self.side, format: .xrgb8888)
        DemoPattern.draw(into: victim, frame: 0)
        try roundtrip("the buffer's creation")
        // The request only: wl_buffer_destroy would free the proxy too.
        victim.sendDestroyKeepingProxy()
        toplevel.surface.attach(victim)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        toplevel.surface.commit()
        say("sent wl_buffer.destroy but kept the proxy, then attached that buffer and committed")
        try roundtrip()
        victim.destroy()  // frees the proxy only (no second destroy request)
        return try render(toplevel, buffers)
    }

    // MARK: dma-buf modes

    /// The plane of a dma-buf mode: a real dma-buf, or a sealed memfd standing in for one.
    enum Plane {
        case dmabuf(DmaBuf)
        case memfd(AnonymousFile)

        var fd: Int32 {
            switch self {
            case let .dmabuf(buffer): return buffer.fileDescriptor.rawValue
            case let .memfd(file): return file.fileDescriptor.rawValue
            }
        }
        var size: Int {
            switch self {
            case let .dmabuf(buffer): return buffer.size
            case let .memfd(file): return file.size
            }
        }
        var stride: Int {
            if case let .dmabuf(buffer) = self { return buffer.stride }
            return MisbehaviorRunner.stride
        }
        var what: String {
            switch self {
            case let .dmabuf(buffer): return "\(buffer.size)-byte dma-buf from \(buffer.strategy)"
            case let .memfd(file): return "\(file.size)-byte sealed memfd"
            }
        }
        var isDmabuf: Bool {
            if case .dmabuf = self { return true }
            return false
        }
    }

    var xr24: UInt32 { DrmFormat.xrgb8888 }

    /// A 64x64 XRGB8888 dma-buf from `dmabufSource`, else a sealed memfd of 64 * 256 bytes.
    func plane() throws -> Plane {
        do {
            let buffer = try DmaBuf(width: Self.side, height: Self.side, strategy: dmabufSource)
            report("dmabuf-source: \(buffer.strategy)")
            return .dmabuf(buffer)
        } catch {
            report("dmabuf-source: memfd (a sealed memfd stands in for the dma-buf: \(error))")
            return .memfd(try sealedMemfd(size: Self.bufferSize))
        }
    }

    /// The factory, and a note when XR24/LINEAR is not advertised (the compositor would then
    /// rightly answer invalid_format before reaching the intended violation).
    func linuxDmabuf() throws -> (LinuxDmabuf, note: String) {
        let factory = try context.linuxDmabuf(timeout: timeout)
        let advertised = factory.supports(format: xr24, modifier: DrmModifier.linear)
        return (factory, advertised ? "" : "; XR24/LINEAR is NOT advertised, so this proves nothing")
    }

    /// After a tolerated dma-buf violation: render the demo pattern with ordinary shm buffers.
    func renderAfterDmabuf(_ toplevel: Toplevel, _ keep: AnyObject...) throws -> FrameLoop.Summary {
        let summary = try render(toplevel, ordinaryBuffers())
        withExtendedLifetime(keep) {}
        return summary
    }

    func dmabufOutOfBoundsPlane() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let plane = try plane()
        let stride = plane.stride
        // The buffer's last 4096 bytes lie past the end of the dma-buf.
        let offset = plane.size - stride * Self.side + 4096
        let params = DmabufParams(factory: factory)
        params.add(fd: plane.fd, plane: 0, offset: UInt32(offset), stride: UInt32(stride), modifier: DrmModifier.linear)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("added plane 0 at offset \(offset) with stride \(stride) for a 64x64 XR24 buffer, which ends at \(offset + stride * Self.side), past the \(plane.what), then create_immed\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufMissingPlane() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let params = DmabufParams(factory: factory)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("sent create_immed for a 64x64 XR24 buffer without adding a plane\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufNotADmabuf() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let memfd = try sealedMemfd(size: Self.bufferSize)
        let params = DmabufParams(factory: factory)
        params.add(fd: memfd.fileDescriptor.rawValue, plane: 0, offset: 0, stride: UInt32(Self.stride), modifier: DrmModifier.linear)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("added a \(memfd.size)-byte memfd sealed \(Self.hex(memfd.seals)) (not a dma-buf) as plane 0 of a 64x64 XR24 LINEAR buffer, then create_immed\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel, memfd)
    }

    func dmabufUnadvertisedModifier() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let factory = try context.linuxDmabuf(timeout: timeout)
        let candidates = [DrmModifier.intelXTiled, DrmModifier.invalid, 0x0200_0000_0000_0001, 0x00FF_FFFF_FFFF_FFFE]
        let modifier = candidates.first { !factory.supports(format: xr24, modifier: $0) }
        let plane = try plane()
        let params = DmabufParams(factory: factory)
        let chosen = modifier ?? DrmModifier.intelXTiled
        params.add(fd: plane.fd, plane: 0, offset: 0, stride: UInt32(plane.stride), modifier: chosen)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        let note = modifier == nil ? ", which the compositor DOES advertise, so this proves nothing" : ", not advertised for XR24 (\(factory.formats.count) pairs advertised)"
        say("added plane 0 (the \(plane.what)) with modifier \(DrmModifier.name(chosen))\(note), then create_immed")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufReusedParams() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let plane = try plane()
        let params = DmabufParams(factory: factory)
        params.add(fd: plane.fd, plane: 0, offset: 0, stride: UInt32(plane.stride), modifier: DrmModifier.linear)
        let width = Int32(Self.side), height = Int32(Self.side)
        var buffers: [OpaquePointer] = []
        if plane.isDmabuf {
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            say("sent create_immed twice on the same zwp_linux_buffer_params_v1 (plane: the \(plane.what))\(note)")
        } else {
            // A memfd fails the import: create_immed would end the client with invalid_wl_buffer
            // before the second request. create answers with a non-fatal failed event instead.
            params.create(width: width, height: height, format: xr24)
            try connection.wait(timeout: timeout) { params.state != .pending }
                .orThrow(waitingFor: "zwp_linux_buffer_params_v1.created or .failed")
            let answer: String
            switch params.state {
            case let .created(buffer): buffers.append(buffer); answer = "created"
            case .failed: answer = "failed"
            case .pending: answer = "nothing"
            }
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            say("sent create on a zwp_linux_buffer_params_v1 (plane: the \(plane.what); answered '\(answer)'), then create_immed on the same params\(note)")
        }
        try roundtrip()
        buffers.forEach { wl_buffer_destroy($0) }
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }
}

// MARK: Slow and greedy clients

/// The compositor closed the connection of a `never-read` client without an error event, as it
/// must: an error could not reach a client whose socket is full.
public struct MisbehaviorDisconnected: Error, CustomStringConvertible, Sendable {
    /// Requests sent before the compositor hung up.
    public var requests: Int
    public var errno: Errno

    public var description: String {
        "the compositor closed the connection after \(requests) requests (\(errno)), without an error event"
    }
}

extension MisbehaviorRunner {
    /// Requests after which `never-read` gives up waiting to be disconnected.
    static let neverReadLimit = 2_000_000

    func neverRead() throws -> FrameLoop.Summary? {
        let toplevel = try mappedWindow()
        let buffers = try ordinaryBuffers()
        DemoPattern.draw(into: buffers.buffers[0], frame: 0)
        let first = toplevel.present(buffers.buffers[0])!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
        say("commits with a frame callback and sends wl_display.sync over and over, and never reads its socket")

        // From here on only writes: libwayland-client reads nothing unless asked to.
        let display = connection.display
        let surface = toplevel.surface.proxy
        let clock = ContinuousClock()
        let deadline = clock.now + (timeout ?? .seconds(60))
        var requests = 0
        while requests < Self.neverReadLimit && clock.now < deadline {
            // The proxies go at once (client side only): their answers would go unread anyway.
            wl_callback_destroy(wl_surface_frame(surface))
            wl_surface_commit(surface)
            wl_callback_destroy(wl_display_sync(display))
            requests += 3
            guard wl_display_flush(display) < 0 else { continue }
            let code = Glibc.errno
            if code == EAGAIN {
                // The compositor is not reading us right now: wait until the socket drains a
                // little, without reading (POLLOUT only).
                var fd = pollfd(fd: wl_display_get_fd(display), events: Int16(POLLOUT), revents: 0)
                _ = poll(&fd, 1, 100)
                continue
            }
            // EPIPE or ECONNRESET: the compositor hung up. Whatever it sent is still in the
            // socket; read it now, so that an error event, had there been one, is reported.
            _ = try? connection.roundtrip(timeout: .seconds(5))
            if let error = connection.error as? ProtocolError { throw error }
            throw MisbehaviorDisconnected(requests: requests, errno: Errno(rawValue: code))
        }
        say("still connected after \(requests) requests")
        return nil
    }

    func hoardBuffers() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let clock = ContinuousClock()
        let start = clock.now
        // 1. A fresh buffer every frame, at the end of a pool that doubles when full; none is
        //    reused or destroyed, and no release is waited for.
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: Self.bufferSize))
        var hoard: [ShmBuffer] = []
        for frame in 0..<frames {
            let offset = hoard.count * Self.bufferSize
            if offset + Self.bufferSize > pool.size { try pool.grow(to: 2 * pool.size) }
            let buffer = ShmBuffer(pool: pool, offset: offset, width: Self.side, height: Self.side, format: .xrgb8888)
            hoard.append(buffer)
            DemoPattern.draw(into: buffer, frame: frame)
            let done = toplevel.present(buffer)!
            try connection.wait(timeout: Self.frameGrace) { done.isDone }.orThrow(waitingFor: "frame \(frame)")
        }
        let released = hoard.filter { $0.releaseCount > 0 }.count
        // 2. The last buffer stays attached: drawn into while the compositor holds it, damaged
        //    and committed every frame, never released.
        let kept = hoard[hoard.count - 1]
        for frame in 0..<frames {
            DemoPattern.draw(into: kept, frame: frame)
            toplevel.surface.damageBuffer(x: 0, y: 0, width: kept.width, height: kept.height)
            let done = toplevel.surface.requestFrame()
            toplevel.surface.commit()
            try connection.wait(timeout: Self.frameGrace) { done.isDone }.orThrow(waitingFor: "frame \(frames + frame)")
        }
        try roundtrip("the last frame")
        say("attached \(hoard.count) buffers without reusing or destroying any (\(released) released, pool now \(pool.size) bytes), then drew into the last one while attached for \(frames) frames (released \(kept.releaseCount) times)")
        return FrameLoop.Summary(frames: 2 * frames, elapsed: clock.now - start, stopReason: .completed)
    }
}

// MARK: A pool on the client's own FUSE file system

extension MisbehaviorRunner {
    /// How long `fuse-pool`'s daemon holds a request of another process before answering it.
    /// FLUSH (sent by every close of the fd) is held until the client exits instead.
    static let fuseHold = Duration.seconds(2)

    /// The pool's file lives on a FUSE file system served by a thread of this process, which then
    /// stalls: every request of another process (GETATTR, STATFS, READ, LSEEK...) is answered
    /// only after `fuseHold`, and FLUSH not before this client exits. A compositor that judges
    /// the fd without calling into the file system refuses it at once (enforce, strict), and its
    /// close of the fd must not wait on the FLUSH where it matters. One that accepts it (guard)
    /// stalls for `fuseHold` whenever it reads the pool: on-demand, when a consumer asks for a
    /// frame, so the mode asks for one (screencopy) and prints how long it took. Bounded, so the
    /// mode ends and exits 0; then the daemon is released and ordinary buffers are rendered.
    /// Everything held is answered and the mount detached before the mode returns or throws.
    func fusePool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let fuse: FuseFileSystem
        do {
            fuse = try FuseFileSystem(size: size, byte: 0x40)
        } catch {
            say("cannot serve its own FUSE file system, so this mode cannot run here: \(error)")
            throw ClientError.system(operation: "fuse-pool: mounting a FUSE file system (needs root and /dev/fuse)", errno: error.errno)
        }
        defer { fuse.stop() }  // answers whatever is still held, detaches the mount, aborts the connection
        report("fuse: serving \(fuse.path), \(size) bytes of 0x40, from a thread of this process")
        let raw = open(fuse.path, O_RDWR | O_CLOEXEC)  // this process's requests are always answered
        guard raw >= 0 else { throw ClientError.system(operation: "open \(fuse.path)", errno: .current) }
        defer { close(raw) }  // before fuse.stop(): its FLUSH is this process's own, answered

        fuse.stall(answerAfter: Self.fuseHold, holdUntilRelease: [.flush])
        let clock = ContinuousClock()
        let sent = clock.now
        let pool = wl_shm_create_pool(shm.proxy, raw, Int32(size))!
        let buffer = wl_shm_pool_create_buffer(pool, 0, Int32(Self.side), Int32(Self.side), Int32(Self.stride), ShmFormat.xrgb8888.rawValue)!
        wl_shm_pool_destroy(pool)
        say("created a wl_shm_pool from a \(size)-byte file on its own FUSE file system (\(fuse.path)); the daemon now answers other processes only after \(FuseFileSystem.format(Self.fuseHold)) (FLUSH: when this client exits)")
        do {
            try roundtrip()
        } catch let error as ProtocolError {
            let refused = clock.now - sent
            let asked = Self.asked(fuse, excludingFlush: true)
            // The compositor then closes the refused fd, and FUSE sends FLUSH from the closing
            // thread and waits for it: held here until this client exits.
            let deadline = clock.now + .milliseconds(500)
            var flush = fuse.foreignRequests.first { $0.opcode == FuseFileSystem.Operation.flush.rawValue }
            while flush == nil, clock.now < deadline {
                usleep(10_000)
                flush = fuse.foreignRequests.first { $0.opcode == FuseFileSystem.Operation.flush.rawValue }
            }
            let close = flush.map {
                "its close of the fd sent FLUSH from \($0.thread == $0.process ? "its main thread" : "thread \($0.thread), not its main thread"), held until this client exits"
            } ?? "its close of the fd sent no FLUSH within 500 ms"
            say("refused after \(FuseFileSystem.format(refused)); the compositor asked the daemon for \(asked) before refusing; \(close)")
            throw error
        }
        say("the pool was accepted after \(FuseFileSystem.format(clock.now - sent)); the compositor asked the daemon for \(Self.asked(fuse))")

        // Shown: on-demand compositing reads nothing yet; every-frame composites it at once.
        wl_surface_attach(toplevel.surface.proxy, buffer, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        let committed = clock.now
        try connection.wait(timeout: .seconds(30)) { frame.isDone }.orThrow(waitingFor: "the frame that shows the FUSE pool")
        say("the frame showing the pool was done after \(FuseFileSystem.format(clock.now - committed))")

        // A consumer's frame composites the pool: the compositor's read of it waits on the daemon.
        let capture = try OutputCapture(connection: connection, timeout: timeout)
        if capture.screencopyVersion != nil {
            let start = clock.now
            let shot = try capture.capture(.screencopy, timeout: .seconds(30))
            let took = clock.now - start
            var shown = 0
            for y in 0..<shot.height { for x in 0..<shot.width where shot.image.rgb(x: x, y: y) == 0x40_4040 { shown += 1 } }
            say("a screencopy, which composites the pool, took \(FuseFileSystem.format(took)) (\(shown) pixels of the pool's 0x404040); the compositor asked the daemon for \(Self.asked(fuse))")
        } else {
            say("the compositor offers no screencopy: nothing makes it read the pool now (its next composite would wait on the daemon)")
        }
        let held = fuse.release()
        say("released the daemon (\(held) request(s) still held were answered)")
        let summary = try render(toplevel, ordinaryBuffers())
        wl_buffer_destroy(buffer)
        return summary
    }

    /// The other processes' requests: "nothing", or "READ (held 2.0 s), FLUSH (held)".
    static func asked(_ fuse: FuseFileSystem, excludingFlush: Bool = false) -> String {
        let requests = fuse.foreignRequests.filter { !excludingFlush || $0.opcode != FuseFileSystem.Operation.flush.rawValue }
        guard !requests.isEmpty else { return "nothing" }
        return requests.map { request in
            switch request.outcome {
            case .answered: return "\(request.name) (answered)"
            case .held: return "\(request.name) (held)"
            case let .answeredAfter(d): return "\(request.name) (held \(FuseFileSystem.format(d)))"
            }
        }.joined(separator: ", ")
    }
}

// MARK: Limits

extension MisbehaviorRunner {
    /// Pools `oversized` makes: 1 GiB each, at most 128 of them.
    static let oversizedPool = 1 << 30
    static let oversizedLimit = 128

    /// A memfd sealed F_SEAL_SHRINK and sized with ftruncate only: sparse, no page allocated.
    func sparseSealedMemfd(size: Int, flags: UInt32 = 0) throws -> FileDescriptor {
        let raw = cw_memfd_create("demo-client-\(mode.rawValue)", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING) | flags)
        guard raw >= 0 else { throw ClientError.system(operation: "memfd_create", errno: .current) }
        let fd = FileDescriptor(rawValue: raw)
        guard ftruncate(raw, off_t(size)) == 0, fcntl(raw, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0 else {
            let e = Errno.current
            try? fd.close()
            throw ClientError.system(operation: "sizing and sealing the memfd", errno: e)
        }
        return fd
    }

    func oversized() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = Self.oversizedPool
        say("creates \(size)-byte pools, each over its own sealed memfd sized with ftruncate and never written, until the compositor refuses one (at most \(Self.oversizedLimit))")
        var files: [FileDescriptor] = []
        var pools: [OpaquePointer] = []
        defer {
            pools.forEach { wl_shm_pool_destroy($0) }
            files.forEach { try? $0.close() }
        }
        for n in 1...Self.oversizedLimit {
            let fd = try sparseSealedMemfd(size: size)
            files.append(fd)
            pools.append(wl_shm_create_pool(shm.proxy, fd.rawValue, Int32(size))!)
            do {
                try roundtrip()
            } catch let error as ProtocolError {
                say("pool \(n) was refused, with \(n - 1) pools (\((n - 1) * size) bytes) accepted before it")
                throw error
            }
        }
        say("all \(Self.oversizedLimit) pools accepted: the compositor maps \(Self.oversizedLimit * size) bytes for this client")
        return try render(toplevel, ordinaryBuffers())
    }

    /// `Hugepagesize` and `HugePages_Free` from /proc/meminfo (bytes, pages).
    static func hugePages() -> (size: Int, free: Int) {
        let fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (2 << 20, 0) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16384)
        let n = read(fd, &bytes, bytes.count)
        let text = String(decoding: bytes.prefix(max(n, 0)), as: UTF8.self)
        var size = 2 << 20, free = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard parts.count >= 2, let value = Int(parts[1]) else { continue }
            if parts[0] == "Hugepagesize" { size = value * 1024 }
            if parts[0] == "HugePages_Free" { free = value }
        }
        return (size, free)
    }

    func hugetlbHole() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (pageSize, free) = Self.hugePages()
        let fd = try sparseSealedMemfd(size: pageSize, flags: 0x0004 /* MFD_HUGETLB */)
        defer { try? fd.close() }
        // No mapping of the client's: its pages are never touched, by the client at least.
        let pool = wl_shm_create_pool(shm.proxy, fd.rawValue, Int32(pageSize))!
        let buffer = wl_shm_pool_create_buffer(pool, 0, Int32(Self.side), Int32(Self.side), Int32(Self.stride), ShmFormat.xrgb8888.rawValue)!
        say("created a \(pageSize)-byte pool over a hugetlb memfd sealed F_SEAL_SHRINK and never touched (HugePages_Free \(free)), and a 64x64 buffer of it")
        do {
            try roundtrip("the pool's creation")
        } catch let error as ProtocolError {
            say("the pool was refused at wl_shm.create_pool\(free == 0 ? " (no huge page is free to reserve for the compositor's mapping)" : "")")
            throw error
        }
        // Huge pages taken from everyone else, one mapping each, until none is left.
        var taken: [UnsafeMutableRawPointer] = []
        defer { for page in taken { munmap(page, pageSize) } }
        if free > 0 {
            // The compositor's mapping reserved a huge page for the file. Punching out a page
            // that was never faulted keeps that reservation (the kernel gives reservations back
            // only with the pages it frees), so fault it in once, then punch it out: page and
            // reservation go. MADV_REMOVE on a shared mapping is fallocate(PUNCH_HOLE |
            // KEEP_SIZE). Then take every free huge page, so that the compositor's next fault
            // on the pool finds none.
            var punched = "MAP_SHARED: \(Errno.current)"
            if let m = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0), m != MAP_FAILED {
                m.storeBytes(of: 0, as: UInt8.self)
                punched = madvise(m, pageSize, 9 /* MADV_REMOVE */) == 0 ? "done" : "MADV_REMOVE: \(Errno.current)"
                munmap(m, pageSize)
            }
            var stopped = Errno.current
            while taken.count < 1 << 16 {
                guard let m = mmap(nil, pageSize, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | 0x40000 /* MAP_HUGETLB */ | 0x8000 /* MAP_POPULATE */, -1, 0),
                      m != MAP_FAILED else { stopped = Errno.current; break }
                m.storeBytes(of: 1, as: UInt8.self)  // fault it in, should MAP_POPULATE not have
                taken.append(m)
            }
            say("faulted the pool's page in once and punched it out (\(punched)) and took \(taken.count) free huge pages (the next: \(stopped)); HugePages_Free now \(Self.hugePages().free)")
        }
        wl_surface_attach(toplevel.surface.proxy, buffer, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        try connection.wait(timeout: Self.frameGrace) { frame.isDone }
        // On demand, nothing reads the pixels until a consumer asks for a frame: ask for one.
        let capture = try OutputCapture(connection: connection, timeout: timeout)
        if capture.screencopyVersion != nil {
            _ = try capture.capture(.screencopy, timeout: timeout)
            say("asked for a screencopy frame, which composites the buffer")
        } else {
            say("the compositor offers no screencopy: nothing made it read the buffer")
        }
        try roundtrip()
        wl_buffer_destroy(buffer)
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }
}
