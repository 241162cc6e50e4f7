import Glibc

/// Private directories (mode 0700, made with mkdtemp) for runtime dirs, logs and files a test
/// makes, and their removal.
public enum PrivateDirectory {
    /// `<parent>/<prefix>XXXXXX`, mode 0700.
    public static func create(in parent: String, prefix: String) throws(SpawnedProcess.Failure) -> String {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SpawnedProcess.Failure(description: "mkdtemp \(parent)/\(prefix)XXXXXX: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        chmod(path, 0o700)
        return path
    }

    /// Removes `path` and everything under it, without following symbolic links and without
    /// crossing into other mounts (a stalled FUSE mount below it is left alone).
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let e = readdir(dir) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != ".", name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names {
                    var child = stat()
                    let full = "\(path)/\(name)"
                    guard lstat(full, &child) == 0 else { continue }
                    if (child.st_mode & S_IFMT) == S_IFDIR && child.st_dev != st.st_dev { continue }  // a mount point
                    removeTree(full)
                }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// What /proc says about a process (`pid` or "self").
public enum ProcessInspection {
    /// Open descriptors with what each points to (the directory's own fd excluded for "self").
    public static func openDescriptors(of pid: String) -> [Int: String] {
        guard let dir = opendir("/proc/\(pid)/fd") else { return [:] }
        let own = pid == "self" ? Int(dirfd(dir)) : -1
        var table: [Int: String] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int(name), fd != own else { continue }
            var buffer = [CChar](repeating: 0, count: 512)
            let n = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
            table[fd] = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
        closedir(dir)
        return table
    }

    /// Resident set size in KiB (VmRSS), 0 when unknown.
    public static func residentKiB(of pid: pid_t) -> Int {
        for line in readFile("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// Lines of /proc/PID/maps.
    public static func mappingCount(of pid: pid_t) -> Int {
        readFile("/proc/\(pid)/maps").split(separator: "\n").count
    }

    /// The scheduler state and wait channel (for hang reports).
    public static func waitChannel(of pid: pid_t) -> String {
        let state = readFile("/proc/\(pid)/stat").split(separator: " ").dropFirst(2).first.map(String.init) ?? "?"
        return "state \(state), wchan \(readFile("/proc/\(pid)/wchan"))"
    }
}
