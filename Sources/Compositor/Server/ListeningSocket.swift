import Buffers
import CWayland
import Glibc
import Logging
import Syscalls
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// The Wayland socket `$XDG_RUNTIME_DIR/<name>` and its `<name>.lock`, made and accepted on by
/// compositord itself rather than by `wl_display_add_socket`.
///
/// The lock-file convention is libwayland's (flock on `<name>.lock`, `wayland-0` to `wayland-32`
/// for automatic names), so compositord and libwayland compositors never take each other's name.
/// Doing it ourselves buys three things libwayland 1.21 does not do:
/// - modes: libwayland creates the lock 0660 and the socket 0777, both minus the umask, so a
///   umask of 0 leaves them group/world-writable. Here the lock is 0600 (`O_NOFOLLOW`, relative to
///   the verified directory) and the socket is bound under a umask of 0177 (mode 0600).
/// - refusal: every accepted fd goes through `onAccept`, which may refuse the client cleanly
///   (a wl_display error, then disconnect) when the fd table is near its limit (FdBudget).
/// - EMFILE: libwayland's accept handler logs and returns, and the listening socket stays
///   readable, so the level-triggered loop calls it again at once: a busy loop flooding the log
///   for as long as the table is full. Here a spare fd is given up to accept and refuse that
///   client; without a spare, accepting pauses for `pauseMilliseconds`.
package final class ListeningSocket {
    package let name: String
    package let path: String
    private let directory: RuntimeDirectory
    private var lockFD: Int32
    private var socketFD: Int32
    private var source: OpaquePointer?
    private var retryTimer: OpaquePointer?
    /// An fd kept open to be closed when the table is full, so that one more accept can succeed.
    private var spareFD: Int32 = -1
    private let logger: Logger
    /// Called with each accepted client fd (which it then owns) and whether it arrived only
    /// through the spare fd: then the table is full and the client must be refused.
    private let onAccept: (_ fd: Int32, _ tableFull: Bool) -> Void
    private var paused = false

    package static let pauseMilliseconds: Int32 = 250
    /// libwayland's range for automatic names.
    package static let automaticNames = (0...32).map { "wayland-\($0)" }

    /// Creates `name` in `directory`, or with nil the first free `wayland-N`.
    package init(directory: RuntimeDirectory, name: String?, loop: OpaquePointer, logger: Logger,
         onAccept: @escaping (_ fd: Int32, _ tableFull: Bool) -> Void) throws(ServerError) {
        self.directory = directory
        self.logger = logger
        self.onAccept = onAccept
        var lastProblem = "no name tried"
        var made: (name: String, lock: Int32, socket: Int32)?
        for candidate in name.map({ [$0] }) ?? Self.automaticNames {
            switch Self.make(candidate, in: directory) {
            case let .success(lock, socket):
                made = (candidate, lock, socket)
            case let .failure(problem):
                // A named socket must be that one; an automatic name moves on, as libwayland does.
                if name != nil { throw .socket(name: candidate, reason: problem) }
                lastProblem = problem
            }
            if made != nil { break }
        }
        guard let made else { throw .socket(name: nil, reason: "no free wayland-N name (wayland-32: \(lastProblem))") }
        self.name = made.name
        self.path = "\(directory.path)/\(made.name)"
        lockFD = made.lock
        socketFD = made.socket
        spareFD = Self.openSpare()
        let user = Unmanaged.passUnretained(self).toOpaque()
        source = wl_event_loop_add_fd(loop, socketFD, UInt32(WL_EVENT_READABLE), { _, _, data in
            Unmanaged<ListeningSocket>.fromOpaque(data!).takeUnretainedValue().acceptPending()
            return 0
        }, user)
        // Made now: creating a timer needs an fd, which is what we would be short of.
        retryTimer = wl_event_loop_add_timer(loop, { data in
            Unmanaged<ListeningSocket>.fromOpaque(data!).takeUnretainedValue().resume()
            return 0
        }, user)
        guard source != nil, retryTimer != nil else {
            close()
            throw .socket(name: made.name, reason: "cannot watch the socket (\(Errno.current))")
        }
    }

    deinit { close() }

    /// Stops accepting, removes the socket and then the lock file (libwayland's order). Idempotent.
    package func close() {
        if let source { wl_event_source_remove(source) }
        if let retryTimer { wl_event_source_remove(retryTimer) }
        source = nil
        retryTimer = nil
        if socketFD >= 0 {
            try? Syscall.unlinkat(directory.fd, name)
            try? Syscall.close(socketFD)
            socketFD = -1
        }
        if lockFD >= 0 {
            try? Syscall.unlinkat(directory.fd, name + ".lock")
            try? Syscall.close(lockFD)
            lockFD = -1
        }
        if spareFD >= 0 { try? Syscall.close(spareFD) }
        spareFD = -1
    }

    /// /dev/null, held to be given up when the fd table is full; -1 when even that cannot be had.
    private static func openSpare() -> Int32 { (try? Syscall.open("/dev/null", O_RDONLY | O_CLOEXEC)) ?? -1 }

    private enum Made { case success(lock: Int32, socket: Int32), failure(String) }

    private static func make(_ name: String, in directory: RuntimeDirectory) -> Made {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            return .failure("a socket name is a plain file name (no '/'): the socket always lives in XDG_RUNTIME_DIR")
        }
        let path = "\(directory.path)/\(name)"
        // sun_path holds 108 bytes with the terminating NUL.
        guard path.utf8.count < MemoryLayout<sockaddr_un>.size - MemoryLayout<sa_family_t>.size else {
            return .failure("the path \(path) is longer than a Unix socket address allows (107 bytes)")
        }

        let lock: Int32
        do throws(Errno) {
            lock = try Syscall.openat(directory.fd, name + ".lock", O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
        } catch { return .failure("cannot open \(path).lock (\(error))") }
        guard let st = try? Syscall.fstat(lock), (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else {
            try? Syscall.close(lock)
            return .failure("\(path).lock is not a regular file of ours")
        }
        guard (try? Syscall.flock(lock, LOCK_EX | LOCK_NB)) != nil else {
            try? Syscall.close(lock)
            return .failure("in use: another compositor holds \(path).lock")
        }
        // A lock file left by an older run (or by libwayland, which makes it 0660 minus umask).
        if st.st_mode & 0o777 != 0o600 { try? Syscall.fchmod(lock, 0o600) }

        // We hold the lock, so anything at the socket's name is stale.
        if let existing = try? Syscall.fstatat(directory.fd, name, flags: AT_SYMLINK_NOFOLLOW) {
            let type = existing.st_mode & S_IFMT
            guard type == S_IFSOCK || type == S_IFLNK, (try? Syscall.unlinkat(directory.fd, name)) != nil else {
                try? Syscall.close(lock)
                return .failure("\(path) exists and is not a stale socket")
            }
        }

        let fd: Int32
        do throws(Errno) {
            fd = try Syscall.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
        } catch {
            try? Syscall.close(lock)
            return .failure("socket: \(error)")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        // bind creates the file with 0777 minus the umask: 0600 with 0177. The umask is the
        // process's, so this briefly affects other threads creating files too.
        let oldMask = umask(0o177)
        var bindErrno: Errno?
        do throws(Errno) { try Syscall.bind(fd, address, length: length) } catch { bindErrno = error }
        umask(oldMask)
        if let bindErrno {
            try? Syscall.close(fd)
            try? Syscall.unlinkat(directory.fd, name + ".lock")
            try? Syscall.close(lock)
            return .failure("bind \(path): \(bindErrno)")
        }
        do throws(Errno) { try Syscall.listen(fd, backlog: 128) } catch {
            try? Syscall.unlinkat(directory.fd, name)
            try? Syscall.close(fd)
            try? Syscall.unlinkat(directory.fd, name + ".lock")
            try? Syscall.close(lock)
            return .failure("listen: \(error)")
        }
        return .success(lock: lock, socket: fd)
    }

    /// Accepts what is waiting (a bounded batch: other sources get their turn).
    private func acceptPending() {
        for _ in 0..<32 {
            let fd: Int32
            do throws(Errno) { fd = try Syscall.accept(socketFD) } catch {
                switch error {
                case .resourceTemporarilyUnavailable:
                    return
                case .interrupted, .connectionAbort, .protocolError:
                    continue  // that connection's problem, not the socket's
                case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
                    return tableFull(error)
                default:
                    logger.error("accept on the Wayland socket failed", metadata: ["errno": "\(error)"])
                    return pause()
                }
            }
            onAccept(fd, false)
        }
    }

    /// Out of fds: give up the spare to accept (and refuse) one client, or pause accepting.
    private func tableFull(_ e: Errno) {
        if spareFD >= 0 {
            try? Syscall.close(spareFD)
            spareFD = -1
            if let fd = try? Syscall.accept(socketFD) { onAccept(fd, true) }
            spareFD = Self.openSpare()
            logger.error("fd table full at accept: refused a client through the spare fd", metadata: ["errno": "\(e)"])
            if spareFD >= 0 { return }
        }
        logger.error("fd table full at accept and no spare fd: not accepting for \(Self.pauseMilliseconds) ms", metadata: ["errno": "\(e)"])
        pause()
    }

    private func pause() {
        guard !paused, let source, let retryTimer else { return }
        paused = true
        wl_event_source_fd_update(source, 0)
        wl_event_source_timer_update(retryTimer, Self.pauseMilliseconds)
    }

    private func resume() {
        guard paused, let source else { return }
        paused = false
        if spareFD < 0 { spareFD = Self.openSpare() }
        wl_event_source_fd_update(source, UInt32(WL_EVENT_READABLE))
    }
}
