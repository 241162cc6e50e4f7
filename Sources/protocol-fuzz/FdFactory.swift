import CWayland
import Glibc

/// Makes the file descriptors the fuzzer sends: memfds sealed or not (small, large, empty), shm
/// and regular files, pipes, sockets, /dev/null, a directory. Files that could still shrink are
/// kept (a dup) so the session can truncate them later, while the compositor may be reading them.
final class FdFactory {
    enum Kind: CaseIterable {
        case sealedMemfd, sealedReadOnlyMemfd, unsealedMemfd, unsealableMemfd, shmFile, regularFile
        case pipeRead, pipeWrite, devNull, socket, directory
    }

    /// dups of files that can still shrink, for `truncateKept`.
    private var kept: [(fd: Int32, size: Int, kind: String)] = []
    private(set) var made = 0

    deinit { closeAll() }

    func closeAll() {
        for k in kept { close(k.fd) }
        kept = []
    }

    static let interestingSizes = [0, 1, 4095, 4096, 16384, 65536, 262_144, 1 << 20, 4 << 20]

    /// A random fd: mostly memfds (the kind pools want), sometimes anything else.
    func random(_ rng: inout FuzzRandom, size: Int? = nil) -> (fd: Int32, kind: String, size: Int)? {
        let kind: Kind = rng.weighted([
            (40, .sealedMemfd), (5, .sealedReadOnlyMemfd), (8, .unsealedMemfd), (5, .unsealableMemfd),
            (10, .shmFile), (5, .regularFile), (5, .pipeRead), (3, .pipeWrite), (5, .devNull), (5, .socket), (3, .directory),
        ])
        return make(kind, size: size ?? rng.pick(Self.interestingSizes))
    }

    func make(_ kind: Kind, size: Int) -> (fd: Int32, kind: String, size: Int)? {
        made += 1
        switch kind {
        case .sealedMemfd:
            return memfd(size, seals: Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_SEAL), keep: false).map { ($0, "sealed-memfd \(size)", size) }
        case .sealedReadOnlyMemfd:
            return memfd(size, seals: Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL), keep: false)
                .map { ($0, "read-only-memfd \(size)", size) }
        case .unsealedMemfd:
            return memfd(size, seals: 0, keep: true).map { ($0, "unsealed-memfd \(size)", size) }
        case .unsealableMemfd:
            let fd = cw_memfd_create("fuzz", UInt32(CW_MFD_CLOEXEC))
            guard fd >= 0 else { return nil }
            return sized(fd, size, kind: "unsealable-memfd")
        case .shmFile:
            let fd = open("/dev/shm", Int32(CW_O_TMPFILE) | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return make(.regularFile, size: size) }
            return sized(fd, size, kind: "shm-file")
        case .regularFile:
            let fd = open("/tmp", Int32(CW_O_TMPFILE) | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            return sized(fd, size, kind: "regular-file")
        case .pipeRead, .pipeWrite:
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { return nil }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            let (mine, theirs) = kind == .pipeRead ? (ends[1], ends[0]) : (ends[0], ends[1])
            close(mine)
            return (theirs, kind == .pipeRead ? "pipe-read" : "pipe-write", 0)
        case .devNull:
            let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
            return fd >= 0 ? (fd, "/dev/null", 0) : nil
        case .socket:
            var ends: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else { return nil }
            close(ends[1])
            return (ends[0], "socket", 0)
        case .directory:
            let fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            return fd >= 0 ? (fd, "directory", 0) : nil
        }
    }

    /// A small keymap libxkbcommon compiles (two keys; types and compat from xkb-data).
    static let validKeymap = Array("""
        xkb_keymap {
        xkb_keycodes "fuzz" { minimum = 8; maximum = 255; <K1> = 10; <K2> = 11; };
        xkb_types "fuzz" { include "complete" };
        xkb_compatibility "fuzz" { include "complete" };
        xkb_symbols "fuzz" { key <K1> { [ a, A ] }; key <K2> { [ Shift_L ] }; modifier_map Shift { <K2> }; };
        };
        """.utf8) + [0]

    /// A sealed memfd holding `bytes` (a keymap, or what claims to be one).
    func file(holding bytes: [UInt8]) -> Int32? {
        made += 1
        let fd = cw_memfd_create("fuzz-keymap", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        guard fd >= 0 else { return nil }
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { close(fd); return nil }
        _ = fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL))
        return fd
    }

    private func memfd(_ size: Int, seals: Int32, keep: Bool) -> Int32? {
        let fd = cw_memfd_create("fuzz", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        guard fd >= 0 else { return nil }
        guard ftruncate(fd, off_t(size)) == 0 else { close(fd); return nil }
        if seals != 0 { _ = fcntl(fd, Int32(CW_F_ADD_SEALS), seals) }
        if keep { remember(fd, size, "unsealed-memfd") }
        return fd
    }

    private func sized(_ fd: Int32, _ size: Int, kind: String) -> (fd: Int32, kind: String, size: Int)? {
        guard ftruncate(fd, off_t(size)) == 0 else { close(fd); return nil }
        remember(fd, size, kind)
        return (fd, "\(kind) \(size)", size)
    }

    private func remember(_ fd: Int32, _ size: Int, _ kind: String) {
        // A handful is enough to truncate under the compositor's feet.
        guard kept.count < 8, size > 0 else { return }
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        if copy >= 0 { kept.append((copy, size, kind)) }
    }

    /// Shrinks one kept file (a guarded pool now faults, a refused one never mattered).
    func truncateKept(_ rng: inout FuzzRandom) -> String? {
        guard !kept.isEmpty else { return nil }
        let k = kept[rng.int(0..<kept.count)]
        let newSize = rng.chance(0.5) ? 0 : k.size / 2
        _ = ftruncate(k.fd, off_t(newSize))
        return "ftruncate(\(k.kind) \(k.size) -> \(newSize))"
    }
}
