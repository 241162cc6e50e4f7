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
    /// A capture target's pool file truncated before the compositor writes into it.
    case truncateCaptureTarget = "truncate-capture-target"
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
            // enforce takes a disk file as a capture target only (wf-recorder's /tmp pools):
            // attaching one of its buffers gets invalid_fd on the wl_buffer; strict refuses the pool.
            switch policy {
            case .guardOnly: return .renders
            case .enforce: return .error(interface: "wl_buffer", code: 2)
            case .strict: return .error(interface: "wl_shm", code: 2)
            }
        case .fusePool:
            // Not shared memory, told without calling into the file system; guard accepts it, and
            // its reads of the pool wait on the client's daemon (for 2 s: see `fusePool()`).
            return policy == .guardOnly ? .renders : .error(interface: "wl_shm", code: 2)
        case .truncateAfterCommit:
            // Under strict the shm_open pool is refused outright, before anything is truncated.
            return policy == .strict ? .error(interface: "wl_shm", code: 2) : .error(interface: "wl_buffer", code: 2)
        case .truncateCaptureTarget:
            // The shm_open pool is refused by strict; otherwise the guarded write faults.
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
        case .truncateCaptureTarget:
            return "Captures the output (ext-image-copy-capture) into a buffer of an shm_open pool, truncates the file to 0 bytes, changes its window and captures into the same buffer again."
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

