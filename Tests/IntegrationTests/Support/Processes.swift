import CWayland
import PNG
import Foundation
import Glibc
import WaylandTestSupport

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
        // mkdtemp fails only on a broken /dev/shm or /tmp: nothing a test could go on without.
        path = try! PrivateDirectory.create(in: parent, prefix: "compositord-test-")
    }
    deinit { PrivateDirectory.removeTree(path) }
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

/// A child process with its stdout and stderr collected into files (WaylandTestSupport's
/// `SpawnedProcess`: a clean signal state, so the runner's blocked or ignored signals do not
/// leak into clients).
final class Child {
    private let process: SpawnedProcess
    var pid: pid_t { process.pid }
    var stdoutPath: String { process.stdoutPath }
    var stderrPath: String { process.stderrPath }

    typealias SpawnError = SpawnedProcess.Failure

    /// `environment` is added to (and overrides) the runner's, without its `WAYLAND_DISPLAY`.
    init(_ executable: String, _ arguments: [String], environment: [String: String], dir: String, tag: String) throws {
        process = try SpawnedProcess(executable, arguments,
                                     environment: SpawnedProcess.environment(overriding: environment, removing: ["WAYLAND_DISPLAY"]),
                                     stdoutPath: "\(dir)/\(tag).stdout", stderrPath: "\(dir)/\(tag).stderr")
    }

    var stdout: String { process.stdout }
    var stderr: String { process.stderr }
    /// Reaps the child if it has exited.
    var isRunning: Bool { process.isRunning }

    /// Waits up to `timeout` seconds; then SIGKILLs and reports a timeout.
    @discardableResult
    func wait(timeout: Double) -> ProcessResult {
        let (status, timedOut) = process.wait(timeout: timeout)
        return ProcessResult(status: status, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    func signal(_ sig: Int32) { process.signal(sig) }

    func waitForWaylandDisplay(timeout: Double) -> String? { process.waitForWaylandDisplay(timeout: timeout) }
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
        if let name = child.waitForWaylandDisplay(timeout: 15) {
            socketName = name
            return
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
