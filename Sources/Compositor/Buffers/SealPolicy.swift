import CWayland

/// `compositord --seal-policy`: which `wl_shm` pool files are accepted, which are sealed by
/// compositord on their client's behalf, and which are read under the SIGBUS guard. The rule is
/// the same under every policy: no pixel is read unguarded from a file that could shrink.
public enum SealPolicy: String, Sendable, CaseIterable {
    /// Default. A memfd that allows sealing gets F_SEAL_SHRINK from compositord; shared memory that
    /// cannot be sealed (memfds without MFD_ALLOW_SEALING, shm_open and runtime-dir files,
    /// hugetlbfs) is read only under the guard; files that are not shared memory are refused.
    case enforce
    /// The lint mode for client authors: every pool must arrive carrying F_SEAL_SHRINK, and
    /// compositord seals nothing on anyone's behalf.
    case strict
    /// libwayland-compatible: nothing is refused for lack of a seal and nothing is sealed; pools
    /// that could shrink are read under the guard. Pools on files that are not shared memory are
    /// accepted too, so a client can stall compositord through its own FUSE file system.
    case guardOnly = "guard"

    public enum Decision: Equatable, Sendable {
        case accept(guarded: Bool)
        /// Add F_SEAL_SHRINK on the client's behalf, then decide again on the file as it is
        /// (sealed, or unsealable when the kernel refused).
        case seal
        /// `rule` is a short name for statistics, `message` what the client is told.
        case refuse(rule: String, message: String)
    }

    /// libwayland 1.21 cuts protocol error messages at 127 bytes (`wl_resource_post_error`'s
    /// buffer): each message keeps its fix within that; the log line has the file's details.
    static let messageLimit = 127

    public func decide(_ file: PoolFile) -> Decision {
        switch file.kind {
        case .notRegularFile:
            return .refuse(rule: "not-a-regular-file",
                           message: "the pool fd is a \(file.typeName), not a file: send a memfd (memfd_create with MFD_ALLOW_SEALING) sealed with F_SEAL_SHRINK")
        case .regularFile:
            if self == .guardOnly { return .accept(guarded: true) }
            return .refuse(rule: "not-shared-memory",
                           message: "the pool fd is a \(file.typeName), not shared memory (reads may block): send a memfd sealed with F_SEAL_SHRINK")
        case .sealedMemfd, .sealedByCompositor:
            return .accept(guarded: false)
        default:
            break
        }
        switch self {
        case .strict:
            if !file.canShrink { return .accept(guarded: !file.readsCannotFault) }  // a sealed hugetlbfs memfd
            return .refuse(rule: "unsealed-pool-strict",
                           message: "--seal-policy strict: every pool needs F_SEAL_SHRINK, this \(file.typeName) lacks it: fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) first")
        case .enforce where file.kind == .unsealedMemfd:
            return .seal
        case .enforce, .guardOnly:
            return .accept(guarded: true)
        }
    }
}
