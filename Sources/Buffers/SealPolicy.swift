import CWayland

@_exported import Policies

/// The decision behind `--seal-policy` (the names are in the Policies target, shared with the
/// hostile clients that check it).
extension SealPolicy {
    public enum Decision: Equatable, Sendable {
        case accept(guarded: Bool)
        /// A file on a local disk under `enforce`: a screencopy target compositord writes into
        /// off its main thread (PoolWriter), never shown (its reads could wait for the disk).
        case acceptForCapture
        /// Add F_SEAL_SHRINK on the client's behalf, then decide again on the file as it is
        /// (sealed, or unsealable when the kernel refused).
        case seal
        /// `rule` is a short name for statistics, `message` what the client is told.
        case refuse(rule: String, message: String)
    }

    /// libwayland 1.21 cuts protocol error messages at 127 bytes (`wl_resource_post_error`'s
    /// buffer): each message keeps its fix within that; the log line has the file's details.
    package static let messageLimit = 127

    public func decide(_ file: PoolFile) -> Decision {
        switch file.kind {
        case .notRegularFile:
            return .refuse(rule: "not-a-regular-file",
                           message: "the pool fd is a \(file.typeName), not a file: send a memfd (memfd_create with MFD_ALLOW_SEALING) sealed with F_SEAL_SHRINK")
        case .diskFile:
            switch self {
            case .guardOnly: return .accept(guarded: true)
            case .enforce: return .acceptForCapture
            case .strict:
                return .refuse(rule: "not-shared-memory",
                               message: "the pool fd is a \(file.typeName), not shared memory (reads may block): send a memfd sealed with F_SEAL_SHRINK")
            }
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
