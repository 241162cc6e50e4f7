import Glibc
import SystemPackage
import Synchronization

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
