import Glibc
import SystemPackage
import Synchronization

/// A private FUSE file system served by a thread of this process: one regular file, `/pool`,
/// whose bytes are all `byte`. It can *stall*: hold the requests of every other process (the
/// compositor's GETATTR, STATFS, READ, FLUSH...) unanswered, so that whoever calls into it
/// waits in the kernel, while this process's own requests are still answered.
///
/// Speaks the kernel's FUSE protocol on `/dev/fuse` directly (`<linux/fuse.h>`, version 7.31; no
/// libfuse) and mounts with `mount(2)` of type `fuse`, so it needs root (or CAP_SYS_ADMIN) and
/// `/dev/fuse`; `init` throws `Failure.unavailable` otherwise. The reference for the wire format
/// is `Tests/IntegrationTests/Fixtures/stalling_fuse.py`. Attributes and entries are sent with a
/// timeout of 0 and files are opened without `FOPEN_KEEP_CACHE`: nothing is cached past a reply,
/// so another process's `fstat`, `fstatfs`, `read` or page fault must ask this server.
///
/// `stop()` (also run by `deinit`) answers everything held, detaches the mount (`MNT_DETACH`),
/// ends the thread and closes `/dev/fuse`, which aborts the connection: from then on any request
/// still to come (the compositor's FLUSH when it closes its copy of the fd) fails at once with
/// ENOTCONN instead of waiting. A process that exits without `stop()` aborts it the same way.
///
/// Beware of `fork`/`exec` while a file of it is open in this process: the child's close of the
/// fd (close-on-exec included) sends FLUSH from another process, which a stall holds.
public final class FuseFileSystem: @unchecked Sendable {
    /// The FUSE operations this server knows by name (`<linux/fuse.h>`, `enum fuse_opcode`).
    public enum Operation: UInt32, Sendable, CustomStringConvertible {
        case lookup = 1, forget = 2, getattr = 3, setattr = 4, open = 14, read = 15, write = 16, statfs = 17
        case release = 18, fsync = 20, getxattr = 22, listxattr = 23, flush = 25, `init` = 26, opendir = 27
        case readdir = 28, releasedir = 29, access = 34, interrupt = 36, destroy = 38, batchForget = 42
        case readdirplus = 44, lseek = 46

        public var description: String {
            switch self {
            case .lookup: return "LOOKUP"
            case .forget: return "FORGET"
            case .getattr: return "GETATTR"
            case .setattr: return "SETATTR"
            case .open: return "OPEN"
            case .read: return "READ"
            case .write: return "WRITE"
            case .statfs: return "STATFS"
            case .release: return "RELEASE"
            case .fsync: return "FSYNC"
            case .getxattr: return "GETXATTR"
            case .listxattr: return "LISTXATTR"
            case .flush: return "FLUSH"
            case .`init`: return "INIT"
            case .opendir: return "OPENDIR"
            case .readdir: return "READDIR"
            case .releasedir: return "RELEASEDIR"
            case .access: return "ACCESS"
            case .interrupt: return "INTERRUPT"
            case .destroy: return "DESTROY"
            case .batchForget: return "BATCH_FORGET"
            case .readdirplus: return "READDIRPLUS"
            case .lseek: return "LSEEK"
            }
        }

        /// The kernel waits for no answer to these (or cannot be made to wait on them): never held.
        var neverHeld: Bool { [.`init`, .forget, .batchForget, .interrupt, .release, .releasedir, .destroy].contains(self) }
    }

    /// One request the server read, and what became of it.
    public struct Request: Sendable, CustomStringConvertible {
        public enum Outcome: Sendable, Equatable {
            case answered
            /// Held by a stall and not answered yet.
            case held
            /// Answered after being held this long.
            case answeredAfter(Duration)
        }
        public var opcode: UInt32
        /// The thread that made the request (the kernel reports thread ids), 0 for the kernel.
        public var thread: pid_t
        /// Its process (thread group), 0 if unknown.
        public var process: pid_t
        public var fromThisProcess: Bool
        public var outcome: Outcome

        public var name: String { Operation(rawValue: opcode)?.description ?? "OP\(opcode)" }

        public var description: String {
            let what: String
            switch outcome {
            case .answered: what = "answered"
            case .held: what = "held"
            case let .answeredAfter(d): what = "held \(FuseFileSystem.format(d))"
            }
            return "\(name) pid=\(process) tid=\(thread) \(what)"
        }
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// No `/dev/fuse`, or mounting a FUSE file system is not permitted here (not root, or a
        /// container without CAP_SYS_ADMIN or FUSE).
        case unavailable(why: String, errno: Errno)
        case system(operation: String, errno: Errno)

        public var errno: Errno {
            switch self {
            case let .unavailable(_, errno), let .system(_, errno): return errno
            }
        }

        public var description: String {
            switch self {
            case let .unavailable(why, _): return "FUSE is not available here: \(why)"
            case let .system(operation, errno): return "\(operation) failed: \(errno)"
            }
        }
    }

    /// The mount point, a fresh directory under /tmp.
    public let mountpoint: String
    /// The size of the one file, in bytes.
    public let size: Int
    /// Every byte of the file.
    public let byte: UInt8
    /// The file's path.
    public var path: String { "\(mountpoint)/\(FuseServer.fileName)" }

    private let server: FuseServer
    private var thread = pthread_t()
    private let stopped = Mutex(false)

    /// Mounts the file system on a new directory under /tmp and starts serving it; returns once
    /// the kernel's INIT has been answered (the file can be opened at once).
    public init(size: Int, byte: UInt8 = 0x40) throws(Failure) {
        self.size = size
        self.byte = byte
        guard access("/dev/fuse", F_OK) == 0 else { throw .unavailable(why: "/dev/fuse is missing (no FUSE in this kernel or container)", errno: .noSuchFileOrDirectory) }
        let dev = open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK)
        guard dev >= 0 else {
            let e = Errno.current
            throw .unavailable(why: "cannot open /dev/fuse: \(e)", errno: e)
        }
        var template = Array("/tmp/clientkit-fuse-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            let e = Errno.current
            close(dev)
            throw .system(operation: "mkdtemp /tmp/clientkit-fuse-XXXXXX", errno: e)
        }
        mountpoint = String(cString: made)
        let options = "fd=\(dev),rootmode=40000,user_id=\(getuid()),group_id=\(getgid()),allow_other"
        let flags = UInt(MS_NOSUID) | UInt(MS_NODEV)
        guard mount("clientkit-fuse", mountpoint, "fuse", flags, options) == 0 else {
            let e = Errno.current
            close(dev)
            rmdir(mountpoint)
            let why = "mount -t fuse \(mountpoint): \(e)"
            if e == .notPermitted || e == .permissionDenied || e == Errno(rawValue: ENODEV) {
                throw .unavailable(why: "mounting a FUSE file system is not permitted here (\(why); needs root and /dev/fuse)", errno: e)
            }
            throw .system(operation: why, errno: e)
        }
        do {
            server = try FuseServer(device: dev, size: size, byte: byte)
        } catch {
            umount2(mountpoint, Int32(MNT_DETACH))
            close(dev)
            rmdir(mountpoint)
            throw .system(operation: "pipe", errno: error)
        }
        let context = Unmanaged.passRetained(server).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let server = Unmanaged<FuseServer>.fromOpaque(raw!).takeRetainedValue()
            server.serve()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<FuseServer>.fromOpaque(context).release()
            umount2(mountpoint, Int32(MNT_DETACH))
            server.closeDevice()
            rmdir(mountpoint)
            throw .system(operation: "pthread_create", errno: Errno(rawValue: rc))
        }
        // The kernel sends INIT as the mount completes; every other request waits for its answer.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while !server.initialized, clock.now < deadline { usleep(1000) }
        guard server.initialized else {
            stop()
            throw .system(operation: "waiting for the kernel's FUSE_INIT", errno: .timedOut)
        }
    }

    deinit { stop() }

    /// From now on, requests from other processes are held. With `delay`, each held request is
    /// answered once it has been held that long, except the operations in `holdUntilRelease`,
    /// which wait for `release()` (or `stop()`) whatever `delay` says.
    public func stall(answerAfter delay: Duration? = nil, holdUntilRelease: Set<Operation> = []) {
        server.state.withLock {
            $0.stalling = true
            $0.delay = delay
            $0.untilRelease = Set(holdUntilRelease.map(\.rawValue))
        }
        server.wake()
    }

    /// Answers every held request and stops stalling. Returns how many were held.
    @discardableResult
    public func release() -> Int { server.release() }

    /// Every request read so far, in order.
    public var requests: [Request] { server.state.withLock { $0.log } }

    /// The requests of other processes.
    public var foreignRequests: [Request] { requests.filter { !$0.fromThisProcess } }

    /// Releases, detaches the mount, ends the serving thread, closes `/dev/fuse` and removes the
    /// mount point. Idempotent.
    public func stop() {
        let already = stopped.withLock { was in
            defer { was = true }
            return was
        }
        guard !already else { return }
        server.release()
        umount2(mountpoint, Int32(MNT_DETACH))
        server.state.withLock { $0.stopping = true }
        server.wake()
        pthread_join(thread, nil)
        server.closeDevice()
        rmdir(mountpoint)
    }

    /// "2.0 s", "350 ms".
    public static func format(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        if ms >= 1000 { return "\((ms / 100).rounded() / 10) s" }
        return "\(Int(ms.rounded())) ms"
    }
}

/// The serving side: owned by the thread and by `FuseFileSystem` (so the thread does not keep
/// the file system alive).
final class FuseServer: @unchecked Sendable {
    static let fileName = "pool"
    static let rootNode: UInt64 = 1, fileNode: UInt64 = 2

    struct Held {
        var unique: UInt64
        var opcode: UInt32
        var node: UInt64
        var body: [UInt8]
        var since: ContinuousClock.Instant
        var logIndex: Int
    }

    struct State {
        var stalling = false
        var delay: Duration?
        var untilRelease: Set<UInt32> = []
        var held: [Held] = []
        var log: [FuseFileSystem.Request] = []
        var stopping = false
        var initialized = false
    }

    let state = Mutex(State())
    private let device: Int32
    private let wakeRead: Int32, wakeWrite: Int32
    private let size: Int
    private let byte: UInt8
    private let clock = ContinuousClock()
    private let uid = getuid(), gid = getgid()
    private let now = UInt64(time(nil))
    private let deviceClosed = Mutex(false)

    init(device: Int32, size: Int, byte: UInt8) throws(Errno) {
        self.device = device
        self.size = size
        self.byte = byte
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Errno.current }  // (pipe2 is not in Glibc's module)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
        closeDevice()
    }

    var initialized: Bool { state.withLock { $0.initialized } }

    func closeDevice() {
        let close = deviceClosed.withLock { was in
            defer { was = true }
            return !was
        }
        if close { Glibc.close(device) }
    }

    func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    @discardableResult
    func release() -> Int {
        let held = state.withLock { s -> [Held] in
            s.stalling = false
            defer { s.held = [] }
            return s.held
        }
        for h in held { answerHeld(h) }
        return held.count
    }

    private func answerHeld(_ h: Held) {
        let waited = clock.now - h.since
        state.withLock { $0.log[h.logIndex].outcome = .answeredAfter(waited) }
        answer(unique: h.unique, opcode: h.opcode, node: h.node, body: h.body)
    }

    /// The thread's loop: poll /dev/fuse and the wake pipe; answer held requests whose delay ran
    /// out; exit when stopping or when the connection is gone (ENODEV).
    func serve() {
        var buffer = [UInt8](repeating: 0, count: (1 << 20) + 4096)
        while true {
            let (stopping, timeout) = state.withLock { s -> (Bool, Int32) in
                guard let delay = s.delay else { return (s.stopping, -1) }
                let timed = s.held.filter { !s.untilRelease.contains($0.opcode) }
                guard let first = timed.map(\.since).min() else { return (s.stopping, -1) }
                let left = first + delay - clock.now
                let ms = max(0, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
                return (s.stopping, Int32(min(ms, 60_000)))
            }
            if stopping { return }
            var fds = [pollfd(fd: device, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, timeout)
            if n < 0 && errno != EINTR { return }
            if fds[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                _ = read(wakeRead, &drain, 64)
            }
            answerExpired()
            guard fds[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(device, $0.baseAddress!, $0.count) }
            if count < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN || e == ENOENT { continue }
                return  // ENODEV: unmounted or aborted
            }
            guard count >= 40 else { continue }
            handle(Array(buffer[0..<count]))
        }
    }

    private func answerExpired() {
        let due = state.withLock { s -> [Held] in
            guard let delay = s.delay else { return [] }
            let now = clock.now
            let due = s.held.filter { !s.untilRelease.contains($0.opcode) && now - $0.since >= delay }
            s.held.removeAll { h in due.contains { $0.unique == h.unique } }
            return due
        }
        for h in due { answerHeld(h) }
    }

    private func handle(_ data: [UInt8]) {
        // struct fuse_in_header: len opcode unique nodeid uid gid pid total_extlen padding (40 bytes)
        let length = Int(data.u32(0))
        let opcode = data.u32(4)
        let unique = data.u64(8)
        let node = data.u64(16)
        let tid = pid_t(bitPattern: data.u32(32))
        let body = Array(data[40..<min(max(length, 40), data.count)])
        let own = tid == 0 || access("/proc/self/task/\(tid)", F_OK) == 0
        let process = own ? (tid == 0 ? 0 : getpid()) : Self.threadGroup(of: tid)
        let known = FuseFileSystem.Operation(rawValue: opcode)
        let hold = state.withLock { s -> Bool in
            let hold = s.stalling && !own && !(known?.neverHeld ?? false)
            s.log.append(.init(opcode: opcode, thread: tid, process: process, fromThisProcess: own, outcome: hold ? .held : .answered))
            if hold {
                s.held.append(Held(unique: unique, opcode: opcode, node: node, body: body, since: clock.now, logIndex: s.log.count - 1))
            }
            return hold
        }
        if !hold { answer(unique: unique, opcode: opcode, node: node, body: body) }
    }

    static func threadGroup(of tid: pid_t) -> pid_t {
        let fd = open("/proc/\(tid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return 0 }
        for line in String(decoding: bytes[0..<n], as: UTF8.self).split(separator: "\n") where line.hasPrefix("Tgid:") {
            return pid_t(line.dropFirst(5).trimmingSpaces) ?? 0
        }
        return 0
    }

    // MARK: Replies (struct fuse_out_header: len error unique)

    private func reply(unique: UInt64, error: Int32 = 0, body: [UInt8] = []) {
        var out = [UInt8]()
        out.reserveCapacity(16 + body.count)
        out.put32(UInt32(16 + body.count))
        out.put32(UInt32(bitPattern: -error))
        out.put64(unique)
        out += body
        // ENOENT: the request was interrupted and is gone; ENODEV: the connection was aborted.
        _ = out.withUnsafeBytes { write(device, $0.baseAddress!, $0.count) }
    }

    /// struct fuse_attr (88 bytes).
    private func attr(_ node: UInt64) -> [UInt8] {
        var a = [UInt8]()
        let isRoot = node == Self.rootNode
        a.put64(isRoot ? Self.rootNode : Self.fileNode)  // ino
        a.put64(isRoot ? 0 : UInt64(size))  // size
        a.put64(isRoot ? 0 : UInt64((size + 511) / 512))  // blocks
        a.put64(now); a.put64(now); a.put64(now)  // atime mtime ctime
        a.put32(0); a.put32(0); a.put32(0)  // their nanoseconds
        a.put32(isRoot ? 0o040755 : 0o100644)  // mode
        a.put32(isRoot ? 2 : 1)  // nlink
        a.put32(uid); a.put32(gid)
        a.put32(0)  // rdev
        a.put32(4096)  // blksize
        a.put32(0)  // flags
        return a
    }

    private func answer(unique: UInt64, opcode: UInt32, node: UInt64, body: [UInt8]) {
        guard let op = FuseFileSystem.Operation(rawValue: opcode) else {
            reply(unique: unique, error: ENOSYS)
            return
        }
        switch op {
        case .`init`:
            // struct fuse_init_in: major minor max_readahead flags...
            let minor = body.count >= 8 ? body.u32(4) : 31
            let readahead = body.count >= 12 ? body.u32(8) : 65536
            var out = [UInt8]()
            out.put32(7); out.put32(min(minor, 31)); out.put32(readahead); out.put32(0)  // major minor max_readahead flags
            out.put16(16); out.put16(12)  // max_background congestion_threshold
            out.put32(65536); out.put32(1)  // max_write time_gran
            out.put16(0); out.put16(0); out.put32(0)  // max_pages map_alignment flags2
            out += [UInt8](repeating: 0, count: 28)  // unused[7]
            reply(unique: unique, body: out)
            state.withLock { $0.initialized = true }
        case .lookup:
            let name = body.prefix { $0 != 0 }
            guard node == Self.rootNode, String(decoding: name, as: UTF8.self) == Self.fileName else {
                reply(unique: unique, error: ENOENT)
                return
            }
            // struct fuse_entry_out: nodeid generation entry_valid attr_valid (+nsec) attr; all
            // timeouts 0.
            var out = [UInt8]()
            out.put64(Self.fileNode); out.put64(1); out.put64(0); out.put64(0); out.put32(0); out.put32(0)
            reply(unique: unique, body: out + attr(Self.fileNode))
        case .getattr:
            var out = [UInt8]()
            out.put64(0); out.put32(0); out.put32(0)  // attr_valid attr_valid_nsec dummy
            reply(unique: unique, body: out + attr(node))
        case .open, .opendir:
            var out = [UInt8]()
            out.put64(1); out.put32(0); out.put32(0)  // fh, open_flags (no KEEP_CACHE), padding
            reply(unique: unique, body: out)
        case .read:
            // struct fuse_read_in: fh offset size...
            let offset = body.count >= 16 ? Int(clamping: body.u64(8)) : 0
            let want = body.count >= 20 ? Int(body.u32(16)) : 0
            let n = node == Self.fileNode ? max(0, min(want, size - offset)) : 0
            reply(unique: unique, body: [UInt8](repeating: byte, count: n))
        case .write:
            // Accepted and dropped (struct fuse_write_out: size padding): the file's bytes never change.
            var out = [UInt8]()
            out.put32(body.count >= 20 ? body.u32(16) : 0); out.put32(0)
            reply(unique: unique, body: out)
        case .statfs:
            // struct fuse_kstatfs: blocks bfree bavail files ffree bsize namelen frsize padding spare[6]
            var out = [UInt8]()
            out.put64(1024); out.put64(0); out.put64(0); out.put64(2); out.put64(0)
            out.put32(4096); out.put32(255); out.put32(4096); out.put32(0)
            out += [UInt8](repeating: 0, count: 24)
            reply(unique: unique, body: out)
        case .readdir, .readdirplus:
            reply(unique: unique)  // empty: the file is found by name
        case .flush, .release, .releasedir, .fsync, .destroy, .access:
            reply(unique: unique)
        case .forget, .batchForget, .interrupt:
            break  // no answer expected
        case .setattr, .getxattr, .listxattr, .lseek:
            reply(unique: unique, error: ENOSYS)
        }
    }
}

extension [UInt8] {
    fileprivate func u32(_ at: Int) -> UInt32 {
        UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }
    fileprivate func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
    fileprivate mutating func put16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    fileprivate mutating func put32(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    fileprivate mutating func put64(_ v: UInt64) { put32(UInt32(v & 0xFFFF_FFFF)); put32(UInt32(v >> 32)) }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        drop { $0 == " " || $0 == "\t" }.prefix { $0 != " " && $0 != "\t" && $0 != "\n" }
    }
}
