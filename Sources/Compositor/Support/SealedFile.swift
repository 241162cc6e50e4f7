import CWayland
import Glibc
import SystemPackage

/// A memfd of fixed size that carries F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL (and optionally
/// F_SEAL_WRITE): whoever maps it can never be made to fault by a resize.
/// Used for the memfd output backend and, later, read-only tables shared with clients.
final class SealedFile {
    let fd: FileDescriptor
    let size: Int

    struct Failure: Error, CustomStringConvertible {
        let step: String
        let errno: Errno
        var description: String { "\(step): \(errno)" }
    }

    init(name: String, size: Int, writeSealed: Bool = false) throws(Failure) {
        var raw = cw_memfd_create(name, UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING | CW_MFD_NOEXEC_SEAL))
        if raw < 0 && errno == EINVAL {  // kernels before 6.3 do not know MFD_NOEXEC_SEAL
            raw = cw_memfd_create(name, UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        }
        guard raw >= 0 else { throw Failure(step: "memfd_create", errno: Errno(rawValue: errno)) }
        let fd = FileDescriptor(rawValue: raw)
        guard ftruncate(raw, off_t(size)) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw Failure(step: "ftruncate(\(size))", errno: e)
        }
        var seals = CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_SEAL
        if writeSealed { seals |= CW_F_SEAL_WRITE }
        guard fcntl(raw, Int32(CW_F_ADD_SEALS), Int32(seals)) == 0 else {
            let e = Errno(rawValue: errno)
            try? fd.close()
            throw Failure(step: "F_ADD_SEALS", errno: e)
        }
        self.fd = fd
        self.size = size
    }

    deinit { try? fd.close() }

    /// The seals the file carries (F_GET_SEALS).
    var seals: Int32 { fcntl(fd.rawValue, Int32(CW_F_GET_SEALS)) }
}
