import Glibc

/// compositord, started by the fuzzer in a private runtime directory, watched through /proc.
final class CompositorProcess {
    let pid: pid_t
    let runtimeDirectory: String
    let stdoutPath: String
    let stderrPath: String
    private(set) var socketPath = ""
    private(set) var exitStatus: Int32?

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(executable: String, arguments: [String], runtimeDirectory: String, logDirectory: String, logTag: String) throws {
        self.runtimeDirectory = runtimeDirectory
        stdoutPath = "\(logDirectory)/\(logTag).stdout"
        stderrPath = "\(logDirectory)/\(logTag).stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Only stdin, stdout and stderr: nothing this process inherited (or opened without
        // O_CLOEXEC) reaches compositord, whose fd baseline is then its own.
        for fd in Self.openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        // A clean signal state: nothing blocked or ignored leaks in from whoever started us.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if !s.hasPrefix("XDG_RUNTIME_DIR="), !s.hasPrefix("WAYLAND_DISPLAY=") { environment.append(s) }
            p += 1
        }
        environment.append("XDG_RUNTIME_DIR=\(runtimeDirectory)")
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else { throw Failure(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// This process's open fds (from /proc/self/fd, without the directory's own).
    private static func openDescriptors() -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        let own = dirfd(dir)
        var fds: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own { fds.append(fd) }
        }
        closedir(dir)
        return fds
    }

    deinit {
        if isRunning {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Waits for the `WAYLAND_DISPLAY=` line.
    func waitForSocket(timeout: Double) throws {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if let line = readFile(stdoutPath).split(separator: "\n").first(where: { $0.hasPrefix("WAYLAND_DISPLAY=") }) {
                socketPath = "\(runtimeDirectory)/\(line.dropFirst("WAYLAND_DISPLAY=".count))"
                return
            }
            guard isRunning else { break }
            usleep(10_000)
        }
        throw Failure(description: "compositord did not announce its socket; stderr:\n\(stderrTail(lines: 30))")
    }

    /// Reaps the process if it has exited.
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return false
        }
        return r == 0
    }

    /// SIGTERM, then the exit status (SIGKILL and nil after `timeout`).
    func terminate(timeout: Double) -> Int32? {
        guard isRunning else { return exitStatus }
        Glibc.kill(pid, SIGTERM)
        let deadline = monotonicSeconds() + timeout
        while isRunning {
            if monotonicSeconds() > deadline {
                Glibc.kill(pid, SIGKILL)
                while isRunning { usleep(1000) }
                return nil
            }
            usleep(5000)
        }
        return exitStatus
    }

    func send(signal: Int32) { Glibc.kill(pid, signal) }

    /// Open file descriptors, from /proc/PID/fd, each with what it points to.
    func fdTable() -> [Int: String] {
        guard let dir = opendir("/proc/\(pid)/fd") else { return [:] }
        defer { closedir(dir) }
        var table: [Int: String] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int(name) else { continue }
            var buffer = [CChar](repeating: 0, count: 512)
            let n = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
            table[fd] = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
        return table
    }

    /// Resident set size in KiB (VmRSS).
    func residentKiB() -> Int {
        for line in readFile("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// Memory mappings (lines of /proc/PID/maps): a pool mapping that outlives its pool shows here.
    func mappingCount() -> Int {
        readFile("/proc/\(pid)/maps").split(separator: "\n").count
    }

    /// The kernel's idea of where it is waiting (for hang reports).
    func waitChannel() -> String {
        let state = readFile("/proc/\(pid)/stat").split(separator: " ").dropFirst(2).first.map(String.init) ?? "?"
        return "state \(state), wchan \(readFile("/proc/\(pid)/wchan"))"
    }

    func stderrTail(lines: Int) -> String {
        readFile(stderrPath).split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// The first line of a sanitizer report (ASan, LSan, TSan, UBSan) about compositord, if any:
    /// on its stderr, or in the file the sanitizer's log_path option names (scripts/sanitize).
    func sanitizerReport() -> String? { sanitizerReportText()?.firstLine }

    /// The whole report (the text it was found in).
    func sanitizerReportText() -> String? {
        let markers = ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer",
                       "runtime error:"]
        var texts = [readFile(stderrPath)]
        for variable in ["ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"] {
            guard let options = getenv(variable).map({ String(cString: $0) }) else { continue }
            for option in options.split(separator: ":") where option.hasPrefix("log_path=") {
                texts.append(readFile("\(option.dropFirst("log_path=".count)).\(pid)"))
            }
        }
        for text in texts {
            if let line = text.split(separator: "\n").first(where: { line in markers.contains { line.contains($0) } }) {
                // From the marker on: the report, not the log lines before it.
                return String(text[line.startIndex...])
            }
        }
        return nil
    }
}

func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

private extension String {
    var firstLine: String { String(prefix { $0 != "\n" }) }
}
