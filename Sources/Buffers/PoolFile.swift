import CWayland
import Glibc
import Syscalls
import SystemPackage

/// What kind of file a client handed to `wl_shm.create_pool`, and the seals it carries.
///
/// The class decides whether the compositor may ever take SIGBUS reading it (only a tmpfs memfd
/// carrying F_SEAL_SHRINK never can), and whether a page fault on it could wait on anyone (only
/// shared memory, tmpfs and hugetlbfs, is known never to).
///
/// Classifying never calls into a file system that is not shared memory: F_GET_SEALS answers
/// only for tmpfs and hugetlbfs files (EINVAL for anything else, from the VFS), and everything
/// else is asked of the VFS's cache (`cw_statx_cached`). A pool on a client's own FUSE file
/// system therefore cannot stall the compositor while it is being judged.
public struct PoolFile: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// tmpfs memfd that arrived carrying F_SEAL_SHRINK: can never shrink, read without a guard.
        case sealedMemfd = "sealed-memfd"
        /// tmpfs memfd that allowed sealing and lacked F_SEAL_SHRINK, which compositord added
        /// itself (`enforce`): from then on it is a sealed memfd, read without a guard.
        case sealedByCompositor = "sealed-by-compositord"
        /// memfd created with MFD_ALLOW_SEALING that lacks F_SEAL_SHRINK (and was not sealed by
        /// compositord: `guard` never seals, `strict` refuses it).
        case unsealedMemfd = "unsealed-memfd"
        /// memfd that cannot be sealed: created without MFD_ALLOW_SEALING, sealed with F_SEAL_SEAL
        /// but not SHRINK, or one where adding the seal failed (a read-only fd).
        case unsealableMemfd = "unsealable-memfd"
        /// Another tmpfs file: POSIX shm_open, /dev/shm, an XDG_RUNTIME_DIR file, O_TMPFILE.
        case shmFile = "shm-file"
        /// Any hugetlbfs file, memfd (MFD_HUGETLB) or not: a punched hole faults even when the
        /// file is sealed (when no huge page is free), so it is always read under the guard.
        case hugetlbFile = "hugetlb-file"
        /// A regular file on a local disk file system (ext4, xfs, btrfs, overlay...): not shared
        /// memory, but its page faults wait only for the disk, never for another process.
        /// wf-recorder's screencopy buffers are such files (`mkstemp` in /tmp).
        case diskFile = "disk-file"
        /// A regular file on any other file system (FUSE, NFS, CIFS, 9p...): its page faults can
        /// wait on another process or the network.
        case regularFile = "regular-file"
        /// A pipe, socket, directory or device: never a pool.
        case notRegularFile = "not-regular-file"
    }

    public internal(set) var kind: Kind
    /// F_GET_SEALS, or nil where the file system has no seals.
    public let seals: Int32?
    /// The file's size, or 0 for non-regular files.
    public let size: Int
    /// "memfd", "tmpfs file", "file on ext4", or for non-regular files "pipe", "socket"...
    public let typeName: String
    /// Why compositord could not add F_SEAL_SHRINK itself, when it tried and the kernel refused.
    public internal(set) var sealFailure: Errno? = nil

    public init(kind: Kind, seals: Int32?, size: Int, typeName: String) {
        self.kind = kind
        self.seals = seals
        self.size = size
        self.typeName = typeName
    }

    /// Whether the kernel guarantees the file can never shrink.
    public var canShrink: Bool { (seals ?? 0) & Int32(CW_F_SEAL_SHRINK) == 0 }

    /// Whether a read of the file can never fault: a tmpfs memfd that cannot shrink.
    public var readsCannotFault: Bool { kind == .sealedMemfd || kind == .sealedByCompositor }

    public static func classify(fd: Int32) -> PoolFile {
        let rawSeals = try? Syscall.getSeals(fd)
        guard let (mode, size, mount) = try? Syscall.statxCached(fd) else {
            return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "unstat-able fd")
        }
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): break
        case UInt32(S_IFIFO): return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "pipe")
        case UInt32(S_IFSOCK): return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "socket")
        case UInt32(S_IFDIR): return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "directory")
        case UInt32(S_IFCHR), UInt32(S_IFBLK): return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "device")
        default: return PoolFile(kind: .notRegularFile, seals: nil, size: 0, typeName: "special file")
        }
        guard let rawSeals else {
            // Not shared memory. Its file system is named from /proc (no call into it).
            // The name is cut to 24 characters so that the refusal message keeps its fix (SealPolicy.messageLimit).
            let fileSystem = fileSystemName(mountID: mount)
            return PoolFile(kind: localDiskFileSystems.contains(fileSystem) ? .diskFile : .regularFile, seals: nil, size: Int(size),
                            typeName: "file on \(fileSystem.prefix(24))")
        }
        // tmpfs or hugetlbfs (F_GET_SEALS answered), so fstatfs cannot reach a daemon.
        let hugetlb = (try? Syscall.fileSystemType(fd)) == hugetlbfsMagic
        let memfd = isMemfd(fd)
        let kind: Kind
        if hugetlb {
            kind = .hugetlbFile
        } else if !memfd {
            kind = .shmFile
        } else if rawSeals & Int32(CW_F_SEAL_SHRINK) != 0 {
            kind = .sealedMemfd
        } else {
            kind = rawSeals & Int32(CW_F_SEAL_SEAL) != 0 ? .unsealableMemfd : .unsealedMemfd
        }
        let name = hugetlb ? (memfd ? "hugetlb memfd" : "hugetlbfs file") : (memfd ? "memfd" : "tmpfs file")
        return PoolFile(kind: kind, seals: rawSeals, size: Int(size), typeName: name)
    }

    /// Adds F_SEAL_SHRINK to an unsealed memfd on its client's behalf (`enforce`). The fd shares
    /// the client's open file description, so from now on the client's own `ftruncate` to a
    /// smaller size fails with EPERM (growing still works). Returns the file as it now is:
    /// `sealedByCompositor`, or `unsealableMemfd` with `sealFailure` when the kernel refused
    /// (the fd was opened read-only, say).
    package func addingShrinkSeal(fd: Int32) -> PoolFile {
        do throws(Errno) { try Syscall.addSeals(fd, Int32(CW_F_SEAL_SHRINK)) } catch {
            var refused = self
            refused.kind = .unsealableMemfd
            refused.sealFailure = error
            return refused
        }
        var sealed = PoolFile.classify(fd: fd)  // the seals and size as they are now
        if sealed.kind == .sealedMemfd { sealed.kind = .sealedByCompositor }
        return sealed
    }

    /// memfds show up in /proc as "/memfd:<name> (deleted)"; nothing else does.
    private static func isMemfd(_ fd: Int32) -> Bool { ReceivedFd.link(of: fd)?.hasPrefix("/memfd:") ?? false }

    /// The file system type of mount `mountID`, from /proc/self/mountinfo (fields: id, parent,
    /// major:minor, root, mount point, options, optional fields, "-", type, source, options).
    package static func fileSystemName(mountID: UInt64) -> String {
        guard mountID != 0, let fp = fopen("/proc/self/mountinfo", "re") else { return "an unknown file system" }
        defer { fclose(fp) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, fp) > 0, let line {
            let fields = String(cString: line).split(separator: " ")
            guard fields.first.flatMap({ UInt64($0) }) == mountID,
                  let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            return String(fields[dash + 1])
        }
        return "an unknown file system"
    }

    /// File systems on a local block device (or layered over one, overlay): what a client can
    /// make wait is at most the disk. FUSE ("fuse", "fuse.sshfs"...), network and virtual
    /// file systems are not in it.
    package static let localDiskFileSystems: Set<String> = [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "bcachefs", "zfs", "overlay",
        "vfat", "exfat", "ntfs3", "nilfs2",
    ]

    private static let hugetlbfsMagic = 0x9584_58f6

    /// "SHRINK|SEAL", "none", or "n/a" where the file system has no seals; for logs.
    public var sealDescription: String {
        guard let seals else { return "n/a" }
        let names = [(CW_F_SEAL_SEAL, "SEAL"), (CW_F_SEAL_SHRINK, "SHRINK"), (CW_F_SEAL_GROW, "GROW"), (CW_F_SEAL_WRITE, "WRITE")]
            .filter { seals & Int32($0.0) != 0 }.map(\.1)
        return names.isEmpty ? "none" : names.joined(separator: "|")
    }
}
