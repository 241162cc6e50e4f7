import CWayland
import PNG
import Foundation
import Glibc

/// Where `swift build` put compositord and demo-client: next to the test bundle.
let productsDirectory: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (exe as NSString).deletingLastPathComponent
}()

/// A private `XDG_RUNTIME_DIR` (mode 0700) removed when the test is done. It lives on tmpfs
/// (/dev/shm) like a login's /run/user/UID, so a runtime-dir pool file is shared memory as it is
/// for real users; `parent` puts it elsewhere (a disk, to see such pools refused).
final class RuntimeDir {
    let path: String
    static let sharedMemory: String = fileSystemType(atPath: "/dev/shm") == 0x0102_1994 ? "/dev/shm" : "/tmp"
    init(parent: String = RuntimeDir.sharedMemory) {
        var template = Array("\(parent)/compositord-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(p, 0o700)
        path = p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
    let timedOut: Bool
}

/// statfs(path).f_type, or -1.
func fileSystemType(atPath path: String) -> Int {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    return cw_fs_type(fd)
}

/// A child process with its stdout and stderr collected into files.
///
/// Spawned with posix_spawn and an explicitly clean signal state (empty mask, default
/// dispositions): the test runner's own blocked or ignored signals must not leak into clients,
/// or SIGINT would never reach them.
final class Child {
    let pid: pid_t
    let stdoutPath: String, stderrPath: String
    private var exitStatus: Int32?

    struct SpawnError: Error, CustomStringConvertible { let description: String }

    init(_ executable: String, _ arguments: [String], environment: [String: String], dir: String, tag: String) throws {
        stdoutPath = "\(dir)/\(tag).stdout"
        stderrPath = "\(dir)/\(tag).stderr"
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "WAYLAND_DISPLAY")
        for (k, v) in environment { env[k] = v }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

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
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else { throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if isRunning { kill(pid, SIGKILL); _ = wait(timeout: 5) }
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Reaps the child if it has exited.
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            // Exit code, or 128 + signal like a shell reports it.
            exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return false
        }
        return r == 0
    }

    /// Waits up to `timeout` seconds; then SIGKILLs and reports a timeout.
    @discardableResult
    func wait(timeout: Double) -> ProcessResult {
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while isRunning {
            if Date() > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                while isRunning { usleep(1_000) }
                break
            }
            usleep(10_000)
        }
        return ProcessResult(status: exitStatus ?? -1, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    func signal(_ sig: Int32) { kill(pid, sig) }
}

/// A running `compositord --headless` with its own runtime dir.
final class CompositorProcess {
    let runtime = RuntimeDir()
    let child: Child
    private(set) var socketName = ""

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Where SIGUSR1 (and exit) screenshots go.
    let screenshotPath: String

    init(_ arguments: [String] = [], environment: [String: String] = [:]) throws {
        screenshotPath = "\(runtime.path)/screenshot.png"
        child = try Child("\(productsDirectory)/compositord", ["--headless", "--screenshot", screenshotPath] + arguments,
                          environment: environment.merging(["XDG_RUNTIME_DIR": runtime.path]) { $1 }, dir: runtime.path, tag: "compositord")
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let line = child.stdout.split(separator: "\n").first(where: { $0.hasPrefix("WAYLAND_DISPLAY=") }) {
                socketName = String(line.dropFirst("WAYLAND_DISPLAY=".count))
                return
            }
            guard child.isRunning else { break }
            usleep(10_000)
        }
        child.signal(SIGKILL)
        throw Failure(description: "compositord did not announce its socket; stderr:\n\(child.stderr)")
    }


    var environment: [String: String] { ["XDG_RUNTIME_DIR": runtime.path, "WAYLAND_DISPLAY": socketName] }
    var log: String { child.stderr }
    var isRunning: Bool { child.isRunning }

    /// Runs a client against this compositor and waits for it.
    func run(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], timeout: Double = 30, tag: String = "client") throws -> ProcessResult {
        try start(executable, arguments, environment: environment, tag: tag).wait(timeout: timeout)
    }

    /// `environment` is added to (and overrides) this compositor's `XDG_RUNTIME_DIR` and `WAYLAND_DISPLAY`.
    func start(_ executable: String, _ arguments: [String] = [], environment extra: [String: String] = [:], tag: String = "client") throws -> Child {
        let path = executable.hasPrefix("/") ? executable : "\(productsDirectory)/\(executable)"
        return try Child(path, arguments, environment: environment.merging(extra) { $1 }, dir: runtime.path, tag: tag)
    }

    /// SIGUSR1, then reads the PNG compositord writes (atomically, by rename) to `screenshotPath`.
    func screenshot() throws -> PNGImage {
        unlink(screenshotPath)
        child.signal(SIGUSR1)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: screenshotPath) {
                return try PNGImage(bytes: [UInt8](data))
            }
            usleep(20_000)
        }
        throw Failure(description: "no screenshot appeared after SIGUSR1; log:\n\(log)")
    }

    /// Screenshots until `condition` holds (e.g. a client's window is on screen) or `timeout`
    /// passes; returns the last one either way, so the caller's expectations report what was seen.
    func screenshot(timeout: Double = 15, until condition: (PNGImage) -> Bool) throws -> PNGImage {
        let deadline = Date().addingTimeInterval(timeout)
        var shot = try screenshot()
        while !condition(shot), Date() < deadline {
            usleep(50_000)
            shot = try screenshot()
        }
        return shot
    }

    /// SIGTERM and wait: returns the exit status.
    func terminate(timeout: Double = 10) -> ProcessResult {
        child.signal(SIGTERM)
        return child.wait(timeout: timeout)
    }
}
