import Glibc

/// A child process for tests, the fuzzer and load tools: spawned with `posix_spawn` and an
/// explicitly clean signal state (empty mask, default dispositions: the parent's blocked or
/// ignored signals must not leak in, or SIGINT would never reach a client), stdin from /dev/null,
/// stdout and stderr into files. Killed (SIGKILL) and reaped when released while running.
public final class SpawnedProcess {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    /// The exit code, or 128 + the signal, as a shell reports it; nil while running.
    public private(set) var exitStatus: Int32?

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// `environment` is the whole environment (`KEY=VALUE`; see `environment(overriding:)`).
    /// With `closingInheritedDescriptors`, nothing but stdin, stdout and stderr reaches the child
    /// (whatever this process opened without O_CLOEXEC included): its fd baseline is its own.
    public init(_ executable: String, _ arguments: [String], environment: [String], stdoutPath: String, stderrPath: String,
                closingInheritedDescriptors: Bool = false) throws(Failure) {
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if closingInheritedDescriptors {
            for fd in ProcessInspection.openDescriptors(of: "self").keys where fd > 2 {
                posix_spawn_file_actions_addclose(&actions, Int32(fd))
            }
        }
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

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else { throw Failure(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// This process's environment without `removing`, then `overriding` added (`KEY=VALUE`).
    public static func environment(overriding: [String: String], removing: Set<String> = []) -> [String] {
        var out: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            let key = String(s.prefix { $0 != "=" })
            if !removing.contains(key), overriding[key] == nil { out.append(s) }
            p += 1
        }
        return out + overriding.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// Reaps the process if it has exited.
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return false
        }
        return r == 0
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits up to `timeout` seconds for the process to exit; then SIGKILLs it and says so.
    @discardableResult
    public func wait(timeout: Double) -> (status: Int32, timedOut: Bool) {
        let deadline = monotonicSeconds() + timeout
        var timedOut = false
        while isRunning {
            if monotonicSeconds() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                while isRunning { usleep(1_000) }
                break
            }
            usleep(5_000)
        }
        return (exitStatus ?? -1, timedOut)
    }

    /// SIGTERM, then the exit status (nil if it had to be SIGKILLed after `timeout`).
    public func terminate(timeout: Double) -> Int32? {
        guard isRunning else { return exitStatus }
        signal(SIGTERM)
        let (status, timedOut) = wait(timeout: timeout)
        return timedOut ? nil : status
    }

    public var stdout: String { readFile(stdoutPath) }
    public var stderr: String { readFile(stderrPath) }

    /// Waits for compositord's `WAYLAND_DISPLAY=<name>` line on stdout; nil if the process exits
    /// or `timeout` passes first.
    public func waitForWaylandDisplay(timeout: Double) -> String? {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("WAYLAND_DISPLAY=") }) {
                return String(line.dropFirst("WAYLAND_DISPLAY=".count))
            }
            guard isRunning else { return nil }
            usleep(10_000)
        }
        return nil
    }
}

/// CLOCK_MONOTONIC in seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A whole file as UTF-8 ("" when it cannot be read).
public func readFile(_ path: String) -> String {
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
