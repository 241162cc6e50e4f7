import CWayland
import Glibc
import SystemPackage

/// A nameless, shareable file that backs `wl_shm` pools, sealed against shrinking so the
/// compositor can map it without risking SIGBUS.
///
/// Owns its descriptor (closed on deinit). The way the file was made is a `Strategy`, so other
/// ways (shm_open, a file in XDG_RUNTIME_DIR) can be added as fallbacks without changing callers.
public final class AnonymousFile {
    public enum Strategy: String, Sendable, CaseIterable, CustomStringConvertible {
        /// `memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING)`, sealed with `F_SEAL_SHRINK`.
        case memfd

        public var description: String { rawValue }
    }

    public let fileDescriptor: FileDescriptor
    public let usedStrategy: Strategy
    public private(set) var size: Int

    /// Creates a file of `size` bytes, trying `strategies` in order; throws the last failure.
    public convenience init(size: Int, name: String = "clientkit-shm", strategies: [Strategy] = Strategy.allCases) throws(Errno) {
        var lastError = Errno.noFunction
        for strategy in strategies {
            do throws(Errno) {
                try self.init(size: size, name: name, strategy: strategy)
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Creates a file of `size` bytes with exactly this strategy.
    public init(size: Int, name: String = "clientkit-shm", strategy: Strategy) throws(Errno) {
        precondition(size > 0, "an anonymous file needs a positive size")
        let fd: FileDescriptor
        switch strategy {
        case .memfd:
            fd = try Self.makeMemfd(name: name, size: size)
        }
        self.fileDescriptor = fd
        self.usedStrategy = strategy
        self.size = size
    }

    deinit {
        try? fileDescriptor.close()
    }

    /// Grows the file (a pool resize). Shrinking is impossible: the seal forbids it and the
    /// compositor may still map the old length.
    public func grow(to newSize: Int) throws(Errno) {
        precondition(newSize >= size, "anonymous files only grow")
        guard newSize > size else { return }
        try Self.allocate(fileDescriptor, size: newSize)
        size = newSize
    }

    /// The seals on the file (`F_GET_SEALS`), e.g. `CW_F_SEAL_SHRINK`.
    public var seals: Int32 {
        fcntl(fileDescriptor.rawValue, Int32(CW_F_GET_SEALS))
    }

    // MARK: Strategies

    private static func makeMemfd(name: String, size: Int) throws(Errno) -> FileDescriptor {
        let raw = cw_memfd_create(name, UInt32(CW_MFD_CLOEXEC) | UInt32(CW_MFD_ALLOW_SEALING))
        guard raw >= 0 else { throw Errno(rawValue: Glibc.errno) }
        let fd = FileDescriptor(rawValue: raw)
        do throws(Errno) {
            try allocate(fd, size: size)
            // Growing stays allowed (F_SEAL_GROW is not set), so a pool can still be resized.
            guard fcntl(raw, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0 else {
                throw Errno(rawValue: Glibc.errno)
            }
        } catch {
            try? fd.close()
            throw error
        }
        return fd
    }

    /// Reserves the blocks up front so a full tmpfs fails here, not as SIGBUS on first write.
    /// Falls back to ftruncate where the file system cannot preallocate.
    private static func allocate(_ fd: FileDescriptor, size: Int) throws(Errno) {
        var result: Int32
        repeat {
            result = posix_fallocate(fd.rawValue, 0, off_t(size)) // returns the error, not errno
        } while result == EINTR
        if result == 0 { return }
        guard result == EINVAL || result == EOPNOTSUPP else { throw Errno(rawValue: result) }
        var truncated: Int32
        repeat {
            truncated = ftruncate(fd.rawValue, off_t(size))
        } while truncated < 0 && Glibc.errno == EINTR
        guard truncated == 0 else { throw Errno(rawValue: Glibc.errno) }
    }
}
