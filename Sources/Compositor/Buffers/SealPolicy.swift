import CWayland

/// `compositord --seal-policy`: which pool files are accepted, and which are read under the
/// SIGBUS guard. A pool whose file carries F_SEAL_SHRINK is never guarded: it cannot shrink.
public enum SealPolicy: String, Sendable, CaseIterable {
    /// Default. memfds must carry F_SEAL_SHRINK; other shm files (the shm_open fallback of old
    /// kernels, runtime-dir files) are accepted but only ever read under the guard.
    case enforce
    /// Every pool must carry F_SEAL_SHRINK.
    case strict
    /// libwayland-compatible: nothing is refused for lack of a seal; unsealed pools are guarded.
    case guardOnly = "guard"

    public enum Decision: Equatable, Sendable {
        case accept(guarded: Bool)
        /// `rule` is a short name for statistics, `message` what the client is told.
        case refuse(rule: String, message: String)
    }

    public func decide(_ file: PoolFile) -> Decision {
        if file.kind == .notRegularFile {
            return .refuse(rule: "not-a-regular-file",
                           message: "the pool fd is a \(file.typeName), not a file: send a memfd (memfd_create with MFD_ALLOW_SEALING, sealed with F_SEAL_SHRINK)")
        }
        if !file.canShrink { return .accept(guarded: false) }
        switch self {
        case .guardOnly:
            return .accept(guarded: true)
        case .enforce:
            switch file.kind {
            case .unsealedMemfd:
                return .refuse(rule: "memfd-without-shrink-seal",
                               message: "memfd pool lacks F_SEAL_SHRINK (seals: \(file.sealDescription)): call fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) before wl_shm.create_pool")
            case .unsealableMemfd:
                return .refuse(rule: "unsealable-memfd",
                               message: "memfd pool lacks F_SEAL_SHRINK and can no longer be sealed (seals: \(file.sealDescription)): create it with memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) and add F_SEAL_SHRINK")
            default:
                return .accept(guarded: true)
            }
        case .strict:
            return .refuse(rule: "unsealed-pool-strict",
                           message: "this compositor requires F_SEAL_SHRINK on every pool, but the \(file.kind.rawValue) carries \(file.sealDescription): use memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) and fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)")
        }
    }
}
