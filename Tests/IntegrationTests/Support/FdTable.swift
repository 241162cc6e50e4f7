import Foundation
import Glibc

/// Which file an open fd refers to: two fds share a file exactly when device and inode match
/// (a memfd passed over SCM_RIGHTS keeps its inode in every process that holds it).
struct FileID: Hashable, CustomStringConvertible {
    let device: UInt64
    let inode: UInt64
    var description: String { "\(device):\(inode)" }
}

/// A process's fd table read from /proc/<pid>/fd (stat follows each magic link to the file).
struct FdTable {
    struct Entry {
        let fd: Int32
        /// What the link reads, e.g. "/memfd:wayland-shm (deleted)" or "socket:[1234]".
        let target: String
        let file: FileID
    }

    let pid: pid_t
    let entries: [Entry]

    init(pid: pid_t) {
        self.pid = pid
        var entries: [Entry] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
            guard let fd = Int32(name) else { continue }
            let link = "/proc/\(pid)/fd/\(name)"
            var st = stat()
            guard stat(link, &st) == 0 else { continue }  // closed meanwhile
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) ?? "?"
            entries.append(Entry(fd: fd, target: target, file: FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))))
        }
        self.entries = entries.sorted { $0.fd < $1.fd }
    }

    var files: Set<FileID> { Set(entries.map(\.file)) }

    /// The memfds (pool files of ClientKit's default strategy, and the compositor's own).
    var memfds: [Entry] { entries.filter { $0.target.hasPrefix("/memfd:") } }

    /// Entries that refer to one of `files`, described for a failure message.
    func sharing(_ files: Set<FileID>) -> [String] {
        entries.filter { files.contains($0.file) }.map { "fd \($0.fd) -> \($0.target) [\($0.file)]" }
    }
}
