import CWayland
import Glibc
import Syscalls
import SystemPackage

/// A shared mapping of a file with exactly one owner: unmapped when it goes. `~Copyable`, so no
/// second owner can exist to unmap it twice or to use it after; the mmap/munmap pairs the
/// buffers and pools used to write by hand (and `defer { munmap }` on every early exit) live
/// here once.
package struct Mapping: ~Copyable {
    package private(set) var base: UnsafeMutableRawPointer
    package private(set) var length: Int

    /// `mmap(MAP_SHARED)` of `length` bytes of `fd` from `offset`, read-only unless `writable`.
    package init(fd: Int32, length: Int, writable: Bool = false, offset: off_t = 0) throws(Errno) {
        guard length > 0 else { throw Errno.invalidArgument }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        base = try Syscall.mmap(length: length, protection: protection, fd: fd, offset: offset)
        self.length = length
    }

    /// Grows the mapping to `newLength` bytes (`mremap` with MREMAP_MAYMOVE: in place, or moved;
    /// `base` says where it is now).
    package mutating func grow(to newLength: Int) throws(Errno) {
        guard newLength > length else { return }
        base = try Syscall.mremap(base, from: length, to: newLength, flags: Int32(CW_MREMAP_MAYMOVE))
        length = newLength
    }

    /// Runs `body` with the mapping's address while the mapping is certainly alive (a temporary
    /// mapping used only through its address could otherwise end after its last use).
    package func withBase<R>(_ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        try body(base)
    }

    deinit { try? Syscall.munmap(base, length) }
}

/// A file descriptor a client sent, with exactly one owner: closed when it goes, the way
/// received fds must be (`ReceivedFd.close`: one that could wait on a FUSE or network file
/// system's server is closed off the main thread). `~Copyable`, so it cannot be closed twice.
package struct OwnedFD: ~Copyable {
    package let rawValue: Int32

    /// Takes ownership of `fd`.
    package init(adopting fd: Int32) { rawValue = fd }
    /// Gives up ownership without closing: the fd goes to an owner that adopts it (`DmabufBuffer`).
    package consuming func release() -> Int32 { let fd = rawValue; discard self; return fd }

    deinit { ReceivedFd.close(rawValue) }
}
