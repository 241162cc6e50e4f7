import CWayland
import Dispatch
import Glibc
import Syscalls
import SystemPackage

/// Closing an fd a client sent. `close(2)` of a file on FUSE sends FLUSH to the file system's
/// daemon and waits for the answer, uninterruptibly: a client serving its pool from its own FUSE
/// file system could freeze compositord (no SIGTERM, state D after SIGKILL) by never answering.
/// Such fds (regular files that are neither shared memory nor dma-bufs) are closed on one
/// background queue, where a stuck close holds up only other such closes; shared memory,
/// dma-bufs, pipes, sockets and devices are closed at once.
package enum ReceivedFd {
    private static let closer = DispatchQueue(label: "compositord.received-fd-closer")

    package static func close(_ fd: FileDescriptor) { close(fd.rawValue) }

    package static func close(_ fd: Int32) {
        guard fd >= 0 else { return }
        if closeCouldWait(fd) {
            closer.async { try? Syscall.close(fd) }
        } else {
            try? Syscall.close(fd)
        }
    }

    /// Asks nothing of the file's own file system: F_GET_SEALS answers only for tmpfs and
    /// hugetlbfs, statx only from the VFS's cache, /proc from the kernel's own tables.
    package static func closeCouldWait(_ fd: Int32) -> Bool {
        if isSharedMemory(fd) { return false }
        guard let mode = try? Syscall.statxCached(fd).mode else { return false }
        // Only a regular file's close flushes (pipes, sockets, devices, directories never do).
        guard mode & UInt32(S_IFMT) == UInt32(S_IFREG) else { return false }
        return !isDmabuf(fd)
    }

    /// tmpfs or hugetlbfs: F_GET_SEALS answers (from the VFS) for nothing else.
    package static func isSharedMemory(_ fd: Int32) -> Bool { (try? Syscall.getSeals(fd)) != nil }

    /// dma-bufs show up in /proc as "/dmabuf:<name>"; nothing else does, and asking reaches no
    /// file system (fstatfs would: a FUSE daemon answers it).
    package static func isDmabuf(_ fd: Int32) -> Bool { link(of: fd)?.hasPrefix("/dmabuf:") ?? false }

    /// The /proc/self/fd link of `fd` (up to 64 bytes: enough to tell "/memfd:" and "/dmabuf:"),
    /// from the kernel's own tables.
    package static func link(of fd: Int32) -> String? {
        guard let link = try? Syscall.readlink("/proc/self/fd/\(fd)", capacity: 64), !link.isEmpty else { return nil }
        return link
    }
}
