import CWayland
import Glibc
import Syscalls
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
        let raw: Int32
        do throws(Errno) {
            do throws(Errno) {
                raw = try Syscall.memfdCreate(name, flags: UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING | CW_MFD_NOEXEC_SEAL))
            } catch .invalidArgument {  // kernels before 6.3 do not know MFD_NOEXEC_SEAL
                raw = try Syscall.memfdCreate(name, flags: UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
            }
        } catch { throw Failure(step: "memfd_create", errno: error) }
        let fd = FileDescriptor(rawValue: raw)
        do throws(Errno) { try Syscall.ftruncate(raw, size) } catch {
            try? fd.close()
            throw Failure(step: "ftruncate(\(size))", errno: error)
        }
        do { try fill(raw) } catch {
            try? fd.close()
            throw error
        }
        var seals = CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_SEAL
        if writeSealed { seals |= CW_F_SEAL_WRITE }
        do throws(Errno) { try Syscall.addSeals(raw, Int32(seals)) } catch {
            try? fd.close()
            throw Failure(step: "F_ADD_SEALS", errno: error)
        }
        self.fd = fd
        self.size = size
    }

    /// A read-only table for clients: `contents` written, then sealed against everything
    /// (SHRINK|GROW|WRITE|SEAL).
    package convenience init(name: String, contents: [UInt8]) throws(Failure) {
        try self.init(name: name, size: contents.count, fill: { fd throws(Failure) in
            let written: Int
            do throws(Errno) {
                written = try Syscall.pwrite(fd, contents, at: 0)
            } catch { throw Failure(step: "pwrite", errno: error) }
            // A short write sets no errno of its own: the thread's is reported, as it always was.
            guard written == contents.count else { throw Failure(step: "pwrite", errno: Errno.current) }
        }, writeSealed: true)
    }

    deinit { try? fd.close() }

    /// The seals the file carries (F_GET_SEALS).
    package var seals: Int32 { (try? Syscall.getSeals(fd.rawValue)) ?? -1 }
}
