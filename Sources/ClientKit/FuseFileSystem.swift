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
