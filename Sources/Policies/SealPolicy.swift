/// `compositord --seal-policy`: which `wl_shm` pool files are accepted, which are sealed by
/// compositord on their client's behalf, and which are read under the SIGBUS guard. The rule is
/// the same under every policy: no pixel is read unguarded from a file that could shrink.
///
/// The names live here, in a target of their own, so that the compositor (which decides:
/// `SealPolicy.decide` in Compositor) and the hostile clients that check it (the Misbehave
/// target's expected reactions) share one definition.
public enum SealPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Default. A memfd that allows sealing gets F_SEAL_SHRINK from compositord; shared memory that
    /// cannot be sealed (memfds without MFD_ALLOW_SEALING, shm_open and runtime-dir files,
    /// hugetlbfs) is read only under the guard; a file on a local disk is a capture target only
    /// (written off the main thread, never read); files on other file systems are refused.
    case enforce
    /// The lint mode for client authors: every pool must arrive carrying F_SEAL_SHRINK, and
    /// compositord seals nothing on anyone's behalf.
    case strict
    /// libwayland-compatible: nothing is refused for lack of a seal and nothing is sealed; pools
    /// that could shrink are read under the guard. Pools on files that are not shared memory are
    /// accepted too, so a client can stall compositord through its own FUSE file system.
    case guardOnly = "guard"

    public var description: String { rawValue }
}
