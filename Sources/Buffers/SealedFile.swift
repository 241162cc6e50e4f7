import CWayland
import Glibc
import SystemPackage

/// A memfd of fixed size that carries F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL (and optionally
/// F_SEAL_WRITE): whoever maps it can never be made to fault by a resize.
/// Used for the memfd output backend and for read-only tables shared with clients (the
/// linux-dmabuf format table).
package final class SealedFile {
    package let fd: FileDescriptor
    package let size: Int

    package struct Failure: Error, CustomStringConvertible {
        package let step: String
        package let errno: Errno
        package var description: String { "\(step): \(errno)" }
    }

    package convenience init(name: String, size: Int, writeSealed: Bool = false) throws(Failure) {
        try self.init(name: name, size: size, fill: { _ throws(Failure) in }, writeSealed: writeSealed)
    }

    /// `fill` runs after sizing and before sealing (the only moment the file may be written when
    /// it is to be write-sealed).
    private init(name: String, size: Int, fill: (Int32) throws(Failure) -> Void, writeSealed: Bool) throws(Failure) {
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
        do { try fill(raw) } catch {
            try? fd.close()
            throw error
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

    /// A read-only table for clients: `contents` written, then sealed against everything
    /// (SHRINK|GROW|WRITE|SEAL).
    package convenience init(name: String, contents: [UInt8]) throws(Failure) {
        try self.init(name: name, size: contents.count, fill: { fd throws(Failure) in
            let written = contents.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard written == contents.count else { throw Failure(step: "pwrite", errno: Errno.current) }
        }, writeSealed: true)
    }

    deinit { try? fd.close() }

    /// The seals the file carries (F_GET_SEALS).
    package var seals: Int32 { fcntl(fd.rawValue, Int32(CW_F_GET_SEALS)) }
}
