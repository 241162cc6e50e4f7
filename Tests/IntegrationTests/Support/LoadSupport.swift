import ClientKit
import Foundation
import Glibc
import Testing

/// RLIMIT_NOFILE for the load tests: compositord (a child, which inherits the limit) holds a
/// descriptor per connection and per pool, 2,500+ under the full load, above the usual soft limit
/// of 1,024. Raises this process's soft limit to its hard limit once.
///
/// The one place to drop once compositord raises its own limit at start: stress-client raises
/// its own too.
enum TestFileLimit {
    private static let raised: Int = {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }()

    /// The soft limit after raising it.
    static func raise() -> Int { raised }
}

/// What /proc says about a process's descriptors and memory (kB).
struct ProcessFootprint: CustomStringConvertible {
    var fds = 0
    var vmRSS = 0, rssAnon = 0, rssFile = 0, rssShmem = 0

    init(pid: pid_t) {
        fds = ProcStat.fdCount(pid)
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kB = Int(parts[1]) else { continue }
            switch parts[0] {
            case "VmRSS": vmRSS = kB
            case "RssAnon": rssAnon = kB
            case "RssFile": rssFile = kB
            case "RssShmem": rssShmem = kB
            default: break
            }
        }
    }

    init() {}

    /// The larger of each figure.
    func peak(with other: ProcessFootprint) -> ProcessFootprint {
        var p = ProcessFootprint()
        p.fds = max(fds, other.fds)
        p.vmRSS = max(vmRSS, other.vmRSS)
        p.rssAnon = max(rssAnon, other.rssAnon)
        p.rssFile = max(rssFile, other.rssFile)
        p.rssShmem = max(rssShmem, other.rssShmem)
        return p
    }

    var description: String {
        "fds=\(fds) VmRSS=\(vmRSS) kB (anon \(rssAnon), file \(rssFile), shmem \(rssShmem))"
    }
}

extension CompositorProcess {
    var footprint: ProcessFootprint { ProcessFootprint(pid: child.pid) }

    /// Waits (up to `timeout` s) until compositord's fd count is `count`, e.g. after clients
    /// left: libwayland closes a client's socket when it reads the hang-up, a moment later.
    /// Returns the last count seen.
    @discardableResult
    func waitForFDCount(_ count: Int, timeout: Double = 15) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var now = ProcStat.fdCount(child.pid)
        while now != count && Date() < deadline {
            usleep(20_000)
            now = ProcStat.fdCount(child.pid)
        }
        return now
    }
}

/// The `key=value` fields of the first stdout line of stress-client that starts with `prefix`
/// (e.g. "observer:").
func stressFields(_ output: String, _ prefix: String) -> [String: String] {
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return [:] }
    var fields: [String: String] = [:]
    for field in line.dropFirst(prefix.count).split(separator: " ") {
        let parts = field.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    return fields
}

/// A stress-client run against a compositor: started, then waited for its "ready:" line.
final class StressClientRun {
    let child: Child

    init(_ compositor: CompositorProcess, _ arguments: [String], tag: String) throws {
        child = try compositor.start("stress-client", arguments + ["--socket", compositor.socketName], tag: tag)
    }

    /// Started and ready (every window configured), or the test stops here.
    static func ready(_ compositor: CompositorProcess, _ arguments: [String], tag: String) throws -> StressClientRun {
        let run = try StressClientRun(compositor, arguments, tag: tag)
        try #require(run.waitReady(), "\(tag): \(run.child.stderr)")
        return run
    }

    /// Waits for "ready:" (every window configured); false if it exited or `timeout` passed first.
    func waitReady(timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if child.stdout.contains("ready: ") { return true }
            guard child.isRunning else { return false }
            usleep(10_000)
        }
        return false
    }

    /// Polls until the process exits (at most `timeout` s), calling `sample` every 250 ms.
    func wait(timeout: Double, sample: () -> Void = {}) -> ProcessResult {
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning && Date() < deadline {
            sample()
            usleep(250_000)
        }
        return child.wait(timeout: 0)
    }

    /// SIGINT, then waits for the summary.
    func stop(timeout: Double = 60) -> ProcessResult {
        child.signal(SIGINT)
        return child.wait(timeout: timeout)
    }
}

extension StressClientRun {
    /// SIGINT, then: every connection of this stress-client worked (exit 0) and its observer got
    /// at least `ObserverFigures.floor` frames in each of at least `seconds` whole seconds.
    func expectUnharmed(_ what: String, seconds: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) {
        let r = stop()
        #expect(r.status == 0, "\(what): the other clients failed: \(r.stderr)", sourceLocation: sourceLocation)
        let observer = ObserverFigures(r.stdout)
        #expect(observer.perSecond.count >= seconds && observer.minimum >= ObserverFigures.floor, "\(what): \(observer)",
                sourceLocation: sourceLocation)
        let renderers = r.stdout.split(separator: "\n").first { $0.hasPrefix("renderers: count=") && !$0.hasPrefix("renderers: count=0 ") }
        print("\(what): \(observer)\(renderers.map { "; \($0)" } ?? "")")
    }
}

extension OutputCapture {
    /// Screencopies with damage until one waits `quiet` without any: the output has settled, and
    /// the next copy with damage stays in flight until something changes.
    func takeDamageUntilQuiet(_ quiet: Duration, attempts: Int = 20) {
        for _ in 0..<attempts {
            guard (try? capture(.screencopy, withDamage: true, timeout: quiet)) != nil else { return }
        }
    }
}

extension CompositorProcess {
    /// Sends SIGTERM `delay` seconds into `inFlight` (a capture that waits until compositord
    /// answers): the capture must end with `CaptureError.failed` after the signal, compositord
    /// exit 0 and its socket and lock be gone.
    func expectShutdownFailsCapture(after delay: Double, _ inFlight: () throws -> Void,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        let socket = "\(runtime.path)/\(socketName)"
        let pid = child.pid
        Thread.detachNewThread {
            usleep(UInt32(delay * 1_000_000))
            kill(pid, SIGTERM)
        }
        let started = Date()
        #expect(throws: CaptureError.failed, sourceLocation: sourceLocation) { try inFlight() }
        #expect(Date().timeIntervalSince(started) > delay * 0.7, "the capture ended before the SIGTERM: it was not in flight",
                sourceLocation: sourceLocation)
        let r = child.wait(timeout: 60)
        #expect(r.status == 0, "compositord exit \(r.status): \(r.stderr.suffix(2000))", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("compositor shut down"), "\(r.stderr.suffix(2000))", sourceLocation: sourceLocation)
        #expect(access(socket, F_OK) != 0 && access(socket + ".lock", F_OK) != 0, "socket or lock left in \(runtime.path)",
                sourceLocation: sourceLocation)
    }
}

/// The observer's frames per second window, from a finished stress-client's output.
struct ObserverFigures: CustomStringConvertible {
    let frames: Int
    let perSecond: [Int]
    let minimum: Int
    let median: Int

    init(_ output: String) {
        let f = stressFields(output, "observer:")
        frames = Int(f["frames"] ?? "") ?? 0
        perSecond = (f["per-second"] ?? "").split(separator: ",").compactMap { Int($0) }
        minimum = Int(f["min-fps"] ?? "") ?? 0
        median = Int(f["median-fps"] ?? "") ?? 0
    }

    var description: String { "observer frames=\(frames) min=\(minimum)/s median=\(median)/s over \(perSecond.count) s: \(perSecond)" }

    /// At least a quarter of the refresh rate in every whole second (generous: CI machines are
    /// shared; a compositor blocked by one client would show 0 here).
    static let floor = 15
}

/// Whether the tests run under AddressSanitizer or ThreadSanitizer (scripts/sanitize exports their
/// options). There, freed memory waits in the sanitizer's quarantine and shadow memory grows with
/// use, so resident-memory bounds say nothing and are checked only in normal builds; descriptor
/// counts are checked either way.
enum Sanitizer {
    static let isActive: Bool = {
        let env = ProcessInfo.processInfo.environment
        return env["ASAN_OPTIONS"] != nil || env["TSAN_OPTIONS"] != nil
    }()
}
