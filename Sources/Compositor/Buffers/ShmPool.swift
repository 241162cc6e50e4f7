import CWayland
import Glibc
import SystemPackage

/// A client's shared-memory pool: the fd it sent through `wl_shm.create_pool` and our read-only
/// mapping of it. Buffers keep their pool alive (ARC), so a buffer outlives `wl_shm_pool.destroy`
/// as the spec requires, and the mapping goes away with the last buffer.
final class ShmPool {
    /// Why a pool cannot be created or resized; `code` is the wl_shm error to post.
    struct Failure: Error, CustomStringConvertible {
        let code: wl_shm_error
        let message: String
        var description: String { message }
    }

    let fd: FileDescriptor
    private(set) var data: UnsafeMutableRawPointer
    private(set) var size: Int
    /// Bumped when the mapping moves (mremap), so cached pixman images are rebuilt.
    private(set) var generation = 0

    /// Takes ownership of `fd` (closed on failure too).
    init(fd rawFD: Int32, size: Int32) throws(Failure) {
        fd = FileDescriptor(rawValue: rawFD)
        guard size > 0 else {
            try? fd.close()
            throw Failure(code: WL_SHM_ERROR_INVALID_STRIDE, message: "pool size \(size) must be positive")
        }
        do {
            try ShmPool.checkFile(fd, covers: Int(size))
        } catch {
            try? fd.close()
            throw error
        }
        guard let mapping = mmap(nil, Int(size), PROT_READ, MAP_SHARED, rawFD, 0), mapping != MAP_FAILED else {
            let err = Errno(rawValue: errno)
            try? fd.close()
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, message: "cannot mmap the pool fd: \(err)")
        }
        data = mapping
        self.size = Int(size)
    }

    deinit {
        munmap(data, size)
        try? fd.close()
    }

    /// `wl_shm_pool.resize`: pools may only grow, and the file must already be that large.
    func resize(to newSize: Int32) throws(Failure) {
        guard Int(newSize) >= size else {
            throw Failure(code: WL_SHM_ERROR_INVALID_STRIDE, message: "pool cannot shrink from \(size) to \(newSize) bytes")
        }
        guard Int(newSize) > size else { return }
        try ShmPool.checkFile(fd, covers: Int(newSize))
        guard let moved = cw_mremap(data, size, Int(newSize), Int32(CW_MREMAP_MAYMOVE)), moved != MAP_FAILED else {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, message: "cannot remap the pool to \(newSize) bytes: \(Errno(rawValue: errno))")
        }
        data = moved
        size = Int(newSize)
        generation += 1
    }

    /// The pool must be a regular file at least as large as the pool, or reads past its end fault.
    private static func checkFile(_ fd: FileDescriptor, covers size: Int) throws(Failure) {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, message: "cannot fstat the pool fd: \(Errno(rawValue: errno))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, message: "the pool fd is not a regular file (a memfd or shm file is required)")
        }
        guard Int(st.st_size) >= size else {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, message: "pool size \(size) exceeds the file's \(st.st_size) bytes")
        }
    }
}
