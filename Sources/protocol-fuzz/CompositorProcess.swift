import Glibc
import WaylandTestSupport

/// compositord, started by the fuzzer in a private runtime directory, watched through /proc.
final class CompositorProcess {
    private let process: SpawnedProcess
    let runtimeDirectory: String
    private(set) var socketPath = ""

    typealias Failure = SpawnedProcess.Failure

    init(executable: String, arguments: [String], runtimeDirectory: String, logDirectory: String, logTag: String) throws {
        self.runtimeDirectory = runtimeDirectory
        // Only stdin, stdout and stderr: compositord's fd baseline is then its own.
        process = try SpawnedProcess(executable, arguments,
                                     environment: SpawnedProcess.environment(overriding: ["XDG_RUNTIME_DIR": runtimeDirectory],
                                                                             removing: ["WAYLAND_DISPLAY"]),
                                     stdoutPath: "\(logDirectory)/\(logTag).stdout", stderrPath: "\(logDirectory)/\(logTag).stderr",
                                     closingInheritedDescriptors: true)
    }

    var pid: pid_t { process.pid }
    var stdoutPath: String { process.stdoutPath }
    var stderrPath: String { process.stderrPath }
    var exitStatus: Int32? { process.exitStatus }
    /// Reaps the process if it has exited.
    var isRunning: Bool { process.isRunning }

    /// Waits for the `WAYLAND_DISPLAY=` line.
    func waitForSocket(timeout: Double) throws {
        guard let name = process.waitForWaylandDisplay(timeout: timeout) else {
            throw Failure(description: "compositord did not announce its socket; stderr:\n\(stderrTail(lines: 30))")
        }
        socketPath = "\(runtimeDirectory)/\(name)"
    }

    /// SIGTERM, then the exit status (SIGKILL and nil after `timeout`).
    func terminate(timeout: Double) -> Int32? { process.terminate(timeout: timeout) }

    func send(signal: Int32) { process.signal(signal) }

    /// Open file descriptors, from /proc/PID/fd, each with what it points to.
    func fdTable() -> [Int: String] { ProcessInspection.openDescriptors(of: "\(pid)") }

    /// Resident set size in KiB (VmRSS).
    func residentKiB() -> Int { ProcessInspection.residentKiB(of: pid) }

    /// Memory mappings (lines of /proc/PID/maps): a pool mapping that outlives its pool shows here.
    func mappingCount() -> Int { ProcessInspection.mappingCount(of: pid) }

    /// The kernel's idea of where it is waiting (for hang reports).
    func waitChannel() -> String { ProcessInspection.waitChannel(of: pid) }

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

private extension String {
    var firstLine: String { String(prefix { $0 != "\n" }) }
}
