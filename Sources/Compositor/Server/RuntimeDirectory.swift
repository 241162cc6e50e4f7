import Buffers
import CWayland
import Glibc
import Syscalls
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// `$XDG_RUNTIME_DIR`, opened and verified once: the only place the socket and its lock file
/// may live.
///
/// The XDG Base Directory spec: the directory "MUST be owned by the user, and he MUST be the only
/// one having read and write access to it. Its Unix access mode MUST be 0700." Anyone else who can
/// write there could swap the socket for their own, or pre-create the lock file as a symlink.
/// The checks run on the directory we opened (`O_NOFOLLOW`, then `fstat`), not on a path that
/// could change between check and use, and the lock and socket are made relative to that fd.
package final class RuntimeDirectory {
    package let path: String
    /// `O_PATH | O_DIRECTORY` fd of the verified directory; closed in `close()`.
    package private(set) var fd: Int32

    /// Opens and verifies `$XDG_RUNTIME_DIR` (or `environmentValue` for tests).
    package init(environmentValue: String? = RuntimeDirectory.environment) throws(ServerError) {
        guard let dir = environmentValue, !dir.isEmpty else { throw .runtimeDirUnset }
        guard dir.hasPrefix("/") else { throw .runtimeDirUnusable(path: dir, reason: "not an absolute path") }
        func unusable(_ reason: String) -> ServerError { .runtimeDirUnusable(path: dir, reason: reason) }

        // O_NOFOLLOW refuses a symlink as the last component (ELOOP): the directory we check must
        // be the one the socket goes into, not whatever a link points to now or later.
        let fd: Int32
        do throws(Errno) { fd = try Syscall.open(dir, Int32(CW_O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } catch {
            let e = error
            if e == .tooManySymbolicLinkLevels || (try? Syscall.lstat(dir)).map({ ($0.st_mode & S_IFMT) == S_IFLNK }) == true {
                throw unusable("it is a symbolic link (to \(RuntimeDirectory.linkTarget(dir))): set XDG_RUNTIME_DIR to a real directory")
            }
            if e == .notDirectory { throw unusable("not a directory") }
            throw unusable("\(e)")
        }
        let st: stat
        do throws(Errno) { st = try Syscall.fstat(fd) } catch {
            try? Syscall.close(fd)
            throw unusable("fstat: \(error)")
        }
        let euid = geteuid()
        let mode = st.st_mode & 0o777
        var problem: String?
        if st.st_uid != euid {
            problem = "it is owned by uid \(st.st_uid), not by this process's uid \(euid): use a directory of your own (e.g. /run/user/\(euid))"
        } else if mode & 0o077 != 0 {
            let who = [mode & 0o070 != 0 ? "the group" : nil, mode & 0o007 != 0 ? "others" : nil].compactMap { $0 }
            problem = "its mode is \(RuntimeDirectory.octal(mode)), which lets \(who.joined(separator: " and ")) in: it must be 0700 (chmod 700 \(dir))"
        } else if mode != 0o700 {
            problem = "its mode is \(RuntimeDirectory.octal(mode)): it must be 0700, read, write and search for the owner only (chmod 700 \(dir))"
        } else {
            do throws(Errno) { try Syscall.access(dir, W_OK | X_OK) } catch { problem = "not writable (\(error))" }
        }
        if let problem {
            try? Syscall.close(fd)
            throw unusable(problem)
        }
        self.path = dir
        self.fd = fd
    }

    package func close() {
        if fd >= 0 { try? Syscall.close(fd) }
        fd = -1
    }

    deinit { close() }

    package static var environment: String? { getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } }

    package static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func linkTarget(_ path: String) -> String {
        guard let target = try? Syscall.readlink(path), !target.isEmpty else { return "?" }
        return target
    }
}
