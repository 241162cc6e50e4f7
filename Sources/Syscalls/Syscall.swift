import CWayland
import Glibc
import SystemPackage

// The one layer where compositord calls the kernel: each wrapper calls libc (or a CWayland shim
// where Glibc's module hides the function), retries EINTR where the call can simply be repeated,
// and throws the kernel's errno as a typed `Errno` instead of returning -1. Callers decide what a
// failure means (a message, a fallback, ignoring it); none reads `errno` by hand. fds stay raw
// `Int32`s: who owns and closes them (`OwnedFD`, `ReceivedFd.close`, `Mapping`) is unchanged.

extension Errno {
    /// The calling thread's errno, as a typed value.
    package static var current: Errno { Errno(rawValue: errno) }
}

/// `body`'s result, or the errno it left when it returned -1 (swift-system's `valueOrErrno`);
/// with `retryOnInterrupt`, EINTR runs it again. For libc and libdrm calls without a wrapper here.
package func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = false, _ body: () -> I) throws(Errno) -> I {
    while true {
        let result = body()
        guard result == -1 else { return result }
        let e = Errno.current
        if !(retryOnInterrupt && e == .interrupted) { throw e }
    }
}

/// For C helpers that return `-errno` on failure (CDRM's ioctls, which retry EINTR themselves).
package func valueOrNegatedErrno<I: FixedWidthInteger & SignedInteger>(_ result: I) throws(Errno) -> I {
    guard result < 0 else { return result }
    throw Errno(rawValue: Int32(truncatingIfNeeded: -result))
}

package enum Syscall {
    // MARK: files

    /// open(2); EINTR (a FIFO, a slow device) is retried.
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        try valueOrErrno(retryOnInterrupt: true) { Glibc.open(path, flags, mode) }
    }

    /// openat(2) relative to a directory fd (the runtime directory's lock file).
    package static func openat(_ directory: Int32, _ name: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        try valueOrErrno(retryOnInterrupt: true) { Glibc.openat(directory, name, flags, mode) }
    }

    /// close(2) of an fd compositord made itself. Never retried: on Linux the fd is gone even
    /// after EINTR. A client's fd is closed with `ReceivedFd.close` instead (FUSE files).
    package static func close(_ fd: Int32) throws(Errno) {
        _ = try valueOrErrno { Glibc.close(fd) }
    }

    package static func fstat(_ fd: Int32) throws(Errno) -> stat {
        var st = Glibc.stat()
        _ = try valueOrErrno { Glibc.fstat(fd, &st) }
        return st
    }

    package static func stat(_ path: String) throws(Errno) -> stat {
        var st = Glibc.stat()
        _ = try valueOrErrno { libcStat(path, &st) }
        return st
    }

    package static func lstat(_ path: String) throws(Errno) -> stat {
        var st = Glibc.stat()
        _ = try valueOrErrno { Glibc.lstat(path, &st) }
        return st
    }

    package static func fstatat(_ directory: Int32, _ name: String, flags: Int32) throws(Errno) -> stat {
        var st = Glibc.stat()
        _ = try valueOrErrno { Glibc.fstatat(directory, name, &st, flags) }
        return st
    }

    /// statx with AT_STATX_DONT_SYNC (`cw_statx_cached`): what the VFS already knows, so a FUSE or
    /// network file system's server is never asked. `mountID` is 0 on kernels without STATX_MNT_ID.
    package static func statxCached(_ fd: Int32) throws(Errno) -> (mode: UInt32, size: UInt64, mountID: UInt64) {
        var mode: UInt32 = 0, size: UInt64 = 0, mount: UInt64 = 0
        _ = try valueOrErrno { cw_statx_cached(fd, &mode, &size, &mount) }
        return (mode, size, mount)
    }

    /// fstatfs(2)'s f_type (`cw_fs_type`). It reaches the file system's own code: only for files
    /// known to be shared memory or dma-bufs.
    package static func fileSystemType(_ fd: Int32) throws(Errno) -> Int {
        try valueOrErrno { cw_fs_type(fd) }
    }

    package static func access(_ path: String, _ mode: Int32) throws(Errno) {
        _ = try valueOrErrno { Glibc.access(path, mode) }
    }

    /// readlink(2) of up to `capacity` bytes (the kernel does not terminate it), decoded as UTF-8.
    package static func readlink(_ path: String, capacity: Int = Int(PATH_MAX)) throws(Errno) -> String {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let n = try valueOrErrno {
            buffer.withUnsafeMutableBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { Glibc.readlink(path, $0.baseAddress!, $0.count) }
            }
        }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    package static func unlink(_ path: String) throws(Errno) {
        _ = try valueOrErrno { Glibc.unlink(path) }
    }

    package static func unlinkat(_ directory: Int32, _ name: String, flags: Int32 = 0) throws(Errno) {
        _ = try valueOrErrno { Glibc.unlinkat(directory, name, flags) }
    }

    package static func rename(_ from: String, _ to: String) throws(Errno) {
        _ = try valueOrErrno { Glibc.rename(from, to) }
    }

    package static func fchmod(_ fd: Int32, _ mode: mode_t) throws(Errno) {
        _ = try valueOrErrno { Glibc.fchmod(fd, mode) }
    }

    /// flock(2); a blocking lock interrupted by a signal is taken again.
    package static func flock(_ fd: Int32, _ operation: Int32) throws(Errno) {
        _ = try valueOrErrno(retryOnInterrupt: true) { libcFlock(fd, operation) }
    }

    package static func ftruncate(_ fd: Int32, _ size: Int) throws(Errno) {
        _ = try valueOrErrno(retryOnInterrupt: true) { Glibc.ftruncate(fd, off_t(size)) }
    }

    package static func lseek(_ fd: Int32, _ offset: off_t, _ whence: Int32) throws(Errno) -> off_t {
        try valueOrErrno { Glibc.lseek(fd, offset, whence) }
    }

    // MARK: reading and writing

    /// write(2): the byte count (possibly short); EINTR is retried.
    package static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) throws(Errno) -> Int {
        try valueOrErrno(retryOnInterrupt: true) { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
    }

    /// pread(2) into `buffer` at `offset`: the byte count (short at the end of the file); EINTR is retried.
    package static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: off_t) throws(Errno) -> Int {
        try valueOrErrno(retryOnInterrupt: true) { Glibc.pread(fd, buffer.baseAddress, buffer.count, offset) }
    }

    /// pwrite(2) at `offset`; EINTR is retried.
    package static func pwrite(_ fd: Int32, _ bytes: [UInt8], at offset: off_t) throws(Errno) -> Int {
        try valueOrErrno(retryOnInterrupt: true) { bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress, $0.count, offset) } }
    }

    /// Reads the 8-byte counter of an eventfd or timerfd (resetting it, so it stops polling readable).
    package static func readCounter(_ fd: Int32) throws(Errno) -> UInt64 {
        var count: UInt64 = 0
        _ = try valueOrErrno(retryOnInterrupt: true) { withUnsafeMutableBytes(of: &count) { Glibc.read(fd, $0.baseAddress, 8) } }
        return count
    }

    /// Adds `value` to an eventfd's counter (wakes whoever polls it).
    package static func writeCounter(_ fd: Int32, _ value: UInt64) throws(Errno) {
        _ = try valueOrErrno(retryOnInterrupt: true) { withUnsafeBytes(of: value) { Glibc.write(fd, $0.baseAddress, 8) } }
    }

    /// poll(2) of one fd with a zero timeout: the events it has now (0: none). EINTR is retried.
    package static func pollNow(_ fd: Int32, events: Int16) throws(Errno) -> Int16 {
        var p = pollfd(fd: fd, events: events, revents: 0)
        _ = try valueOrErrno(retryOnInterrupt: true) { Glibc.poll(&p, 1, 0) }
        return p.revents
    }

    // MARK: shared memory and mappings

    /// memfd_create(2) (`cw_memfd_create`: Glibc's module lacks it; ENOSYS where the kernel does).
    package static func memfdCreate(_ name: String, flags: UInt32) throws(Errno) -> Int32 {
        try valueOrErrno { cw_memfd_create(name, flags) }
    }

    /// fcntl(F_GET_SEALS): answers only for tmpfs and hugetlbfs (EINVAL for any other file),
    /// from the VFS, so it never reaches a FUSE daemon.
    package static func getSeals(_ fd: Int32) throws(Errno) -> Int32 {
        try valueOrErrno { fcntl(fd, Int32(CW_F_GET_SEALS)) }
    }

    /// fcntl(F_ADD_SEALS): EPERM when a seal forbids it (F_SEAL_SEAL, or no MFD_ALLOW_SEALING)
    /// or the fd is read-only, EINVAL when the file system has no seals, EBUSY for F_SEAL_WRITE
    /// over a writable mapping.
    package static func addSeals(_ fd: Int32, _ seals: Int32) throws(Errno) {
        _ = try valueOrErrno { fcntl(fd, Int32(CW_F_ADD_SEALS), seals) }
    }

    /// mmap(2) of `fd` (MAP_SHARED unless told); MAP_FAILED becomes the errno.
    package static func mmap(length: Int, protection: Int32, flags: Int32 = MAP_SHARED, fd: Int32,
                             offset: off_t = 0) throws(Errno) -> UnsafeMutableRawPointer {
        guard let m = Glibc.mmap(nil, length, protection, flags, fd, offset), m != MAP_FAILED else { throw Errno.current }
        return m
    }

    /// mremap(2) (`cw_mremap`: Glibc's module lacks it); returns where the mapping is now.
    package static func mremap(_ base: UnsafeMutableRawPointer, from length: Int, to newLength: Int,
                               flags: Int32) throws(Errno) -> UnsafeMutableRawPointer {
        guard let m = cw_mremap(base, length, newLength, flags), m != MAP_FAILED else { throw Errno.current }
        return m
    }

    /// munmap(2); it fails only for a range that was never a mapping (EINVAL).
    package static func munmap(_ base: UnsafeMutableRawPointer, _ length: Int) throws(Errno) {
        _ = try valueOrErrno { Glibc.munmap(base, length) }
    }

    // MARK: event fds

    /// A non-blocking, close-on-exec eventfd with a zero counter (`cw_eventfd_create`: Glibc's
    /// module lacks sys/eventfd.h).
    package static func eventfd() throws(Errno) -> Int32 {
        try valueOrErrno { cw_eventfd_create() }
    }

    /// A non-blocking, close-on-exec CLOCK_MONOTONIC timerfd (`cw_timerfd_create`).
    package static func timerfd() throws(Errno) -> Int32 {
        try valueOrErrno { cw_timerfd_create() }
    }

    /// Arms a timerfd at an absolute CLOCK_MONOTONIC time, then every `interval` ns (0: once);
    /// a deadline of 0 disarms (`cw_timerfd_arm`, timerfd_settime(2)).
    package static func armTimerfd(_ fd: Int32, deadline: UInt64, interval: UInt64) throws(Errno) {
        _ = try valueOrErrno { cw_timerfd_arm(fd, deadline, interval) }
    }

    // MARK: sockets

    package static func socket(_ domain: Int32, _ type: Int32, _ proto: Int32 = 0) throws(Errno) -> Int32 {
        try valueOrErrno { Glibc.socket(domain, type, proto) }
    }

    package static func bind(_ fd: Int32, _ address: sockaddr_un, length: socklen_t) throws(Errno) {
        var address = address
        _ = try valueOrErrno {
            withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) } }
        }
    }

    package static func listen(_ fd: Int32, backlog: Int32) throws(Errno) {
        _ = try valueOrErrno { Glibc.listen(fd, backlog) }
    }

    /// accept4(fd, NULL, NULL, SOCK_CLOEXEC) (`cw_accept_cloexec`), as libwayland accepts.
    /// Not retried: the caller's loop decides what EINTR and EAGAIN mean.
    package static func accept(_ fd: Int32) throws(Errno) -> Int32 {
        try valueOrErrno { cw_accept_cloexec(fd) }
    }

    /// send(2) of `bytes`: the byte count sent; EINTR is retried.
    package static func send(_ fd: Int32, _ bytes: [UInt8], flags: Int32) throws(Errno) -> Int {
        try valueOrErrno(retryOnInterrupt: true) { bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, flags) } }
    }

    /// SO_PEERCRED: the pid, uid and gid of a Unix socket's peer (the Glibc module hides `struct ucred`).
    package static func peerCredentials(_ fd: Int32) throws(Errno) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        _ = try valueOrErrno { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) }
        return credentials
    }
}

// stat(2) and flock(2) share their names with structs, which `Glibc.stat(...)` would construct,
// and inside `Syscall` the bare names are its own wrappers.
private func libcStat(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }
private func libcFlock(_ fd: Int32, _ operation: Int32) -> Int32 { flock(fd, operation) }
