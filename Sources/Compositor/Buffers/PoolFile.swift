import CWayland
import Glibc

/// What kind of file a client handed to `wl_shm.create_pool`, and the seals it carries.
///
/// The class decides whether the compositor may ever take SIGBUS reading it: only a file that
/// carries F_SEAL_SHRINK (in practice a sealed memfd) can never shrink under the mapping.
public struct PoolFile: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// memfd carrying F_SEAL_SHRINK: can never shrink, read without a guard.
        case sealedMemfd = "sealed-memfd"
        /// memfd created with MFD_ALLOW_SEALING that lacks F_SEAL_SHRINK.
        case unsealedMemfd = "unsealed-memfd"
        /// memfd that can no longer be sealed (no MFD_ALLOW_SEALING, or F_SEAL_SEAL without SHRINK).
        case unsealableMemfd = "unsealable-memfd"
        /// Other tmpfs / hugetlbfs file: POSIX shm_open, /dev/shm, an XDG_RUNTIME_DIR file, O_TMPFILE.
        case shmFile = "shm-file"
        /// A regular file on any other file system.
        case regularFile = "regular-file"
        /// A pipe, socket, directory or device: never a pool.
        case notRegularFile = "not-regular-file"
    }

    public let kind: Kind
    /// F_GET_SEALS, or nil where the file system has no seals.
    public let seals: Int32?
    /// The file's size (fstat), or 0 for non-regular files.
    public let size: Int
    /// For non-regular files: "pipe", "socket", "directory", "device"...
    public let typeName: String

    /// Whether the kernel guarantees the file can never shrink.
    public var canShrink: Bool { (seals ?? 0) & Int32(CW_F_SEAL_SHRINK) == 0 }

    public static func classify(fd: Int32) -> PoolFile {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "unstat-able fd")
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "pipe")
        case S_IFSOCK: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "socket")
        case S_IFDIR: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "directory")
        case S_IFCHR, S_IFBLK: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "device")
        default: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "special file")
        }
        let size = Int(st.st_size)
        let rawSeals = fcntl(fd, Int32(CW_F_GET_SEALS))
        let seals: Int32? = rawSeals >= 0 ? rawSeals : nil

        if isMemfd(fd) {
            let s = seals ?? Int32(CW_F_SEAL_SEAL)
            let kind: Kind = s & Int32(CW_F_SEAL_SHRINK) != 0 ? .sealedMemfd
                : s & Int32(CW_F_SEAL_SEAL) != 0 ? .unsealableMemfd : .unsealedMemfd
            return PoolFile(kind: kind, seals: seals, size: size, typeName: "memfd")
        }
        let fsType = cw_fs_type(fd)
        let shmem = fsType == tmpfsMagic || fsType == hugetlbfsMagic
        return PoolFile(kind: shmem ? .shmFile : .regularFile, seals: seals, size: size, typeName: shmem ? "tmpfs file" : "file")
    }

    /// memfds show up in /proc as "/memfd:<name> (deleted)"; nothing else does.
    private static func isMemfd(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { readlink("/proc/self/fd/\(fd)", $0.baseAddress!, $0.count) }
        }
        guard n > 0 else { return false }
        return String(decoding: buffer[..<n], as: UTF8.self).hasPrefix("/memfd:")
    }

    private static let tmpfsMagic = 0x0102_1994
    private static let hugetlbfsMagic = 0x9584_58f6

    /// "SHRINK|SEAL", "none", or "n/a" where the file system has no seals; for logs.
    public var sealDescription: String {
        guard let seals else { return "n/a" }
        let names = [(CW_F_SEAL_SEAL, "SEAL"), (CW_F_SEAL_SHRINK, "SHRINK"), (CW_F_SEAL_GROW, "GROW"), (CW_F_SEAL_WRITE, "WRITE")]
            .filter { seals & Int32($0.0) != 0 }.map(\.1)
        return names.isEmpty ? "none" : names.joined(separator: "|")
    }
}
