import Glibc
import WaylandTestSupport

/// One fuzzing run: starts compositord and the observer, runs sessions (a few at a time) until
/// the iteration count or the duration is reached, checks the oracle after each, and at the end
/// checks that the fd count is back at its baseline and that SIGTERM makes compositord exit 0.
final class FuzzRun {
    struct Options {
        var seed: UInt64
        var iterations: Int
        var firstSession: Int
        var duration: Double?
        var clients: Int
        var rawFraction: Double
        var replyTimeout: Double
        var stallTimeout: Double
        var hangTimeout: Double
        var compositord: String
        var compositordArguments: [String]
        var artifacts: String
        var keepGoing: Bool
        var verbose: Bool
        /// Write every session's trace here (debugging the fuzzer itself).
        var traceDirectory: String?
        /// Keep compositord's stdout and stderr here (default: the private runtime directory, removed).
        var logDirectory: String?
    }

    private let options: Options
    private(set) var report = Report()
    private let runtimeDirectory: String
    private var compositor: CompositorProcess!
    private var observer: Observer!
    private var baseline: [Int: String] = [:]
    private var active: [FuzzSession] = []
    /// The last sessions that ended, for crash reports (a crash may follow a disconnect).
    private var recent: [FuzzSession] = []
    private var compositorGeneration = 0
    private var artifactCount = 0
    /// The run stopped at a crash or hang (without --keep-going).
    private var stoppedByFailure = false

    init(options: Options) throws {
        self.options = options
        runtimeDirectory = try PrivateDirectory.create(in: "/tmp", prefix: "protocol-fuzz-")
    }

    deinit {
        // The runtime directory holds only compositord's logs by now.
        PrivateDirectory.removeTree(runtimeDirectory)
    }

    private func log(_ s: String) {
        print(s)
        fflush(nil)
    }

    func run() throws -> Report {
        let start = monotonicSeconds()
        try startCompositor()
        report.fdBaseline = baseline.count
        report.rssBaselineKiB = compositor.residentKiB()
        report.mapsBaseline = compositor.mappingCount()
        var next = options.firstSession
        let end = options.firstSession + options.iterations
        var lastCheck = 0.0
        var lastProgress = start

        while true {
            let now = monotonicSeconds()
            let timeUp = options.duration.map { now - start >= $0 } ?? false
            while active.count < options.clients, next < end, !timeUp {
                next += 1
                // A refused connection: find out why (a crash) before trying the next one.
                guard startSession(next - 1) else { lastCheck = 0; break }
            }
            if active.isEmpty && (next >= end || timeUp) { break }

            for s in active { s.step(now: now) }
            pump(timeoutMs: active.contains { $0.isBusy } ? 0 : 5)
            observer.step(now: monotonicSeconds())
            collectFinished()

            if now - lastCheck > 0.05 || !compositor.isRunning {
                lastCheck = now
                report.rssPeakKiB = max(report.rssPeakKiB, compositor.residentKiB())
                if !compositor.isRunning {
                    crashed()
                    if !options.keepGoing { stoppedByFailure = true; break }
                    try startCompositor()
                    continue
                }
                if let problem = observer.problem(now: monotonicSeconds()) {
                    compositorHung(problem)
                    if !options.keepGoing { stoppedByFailure = true; break }
                    try startCompositor()
                    continue
                }
            }
            if options.verbose, now - lastProgress > 5 {
                lastProgress = now
                log("… \(next - options.firstSession) sessions started, \(report.requests) requests, \(report.errors.count) error kinds, observer \(observer.frames) frames")
            }
        }
        for s in active { s.close(); finished(s) }
        active = []
        report.elapsed = monotonicSeconds() - start
        finish()
        return report
    }

    // MARK: compositord

    private func startCompositor() throws {
        if compositor != nil { report.restarts += 1 }
        compositorGeneration += 1
        // --output replaces --width and --height (compositord refuses both).
        let size = options.compositordArguments.contains { $0.hasPrefix("--output") } ? [] : ["--width", "640", "--height", "480"]
        compositor = try CompositorProcess(
            executable: options.compositord,
            arguments: ["--headless", "--socket", "fuzz-\(compositorGeneration)"] + size + options.compositordArguments,
            runtimeDirectory: runtimeDirectory, logDirectory: options.logDirectory ?? runtimeDirectory,
            logTag: "compositord-\(compositorGeneration)")
        try compositor.waitForSocket(timeout: 30)
        let t0 = monotonicSeconds()
        observer = try Observer(socketPath: compositor.socketPath, hangTimeout: options.hangTimeout, now: t0)
        // The baseline is taken with the observer drawing: its pool and buffers are part of it.
        while observer.frames < 3 {
            pump(timeoutMs: 10)
            observer.step(now: monotonicSeconds())
            if let problem = observer.problem(now: monotonicSeconds()) {
                throw CompositorProcess.Failure(description: "the observer could not start: \(problem)\n\(compositor.stderrTail(lines: 30))")
            }
        }
        baseline = settledFdTable(target: nil)
    }

    /// The fd table once it stops changing (or equals `target`'s size), polling for `timeout` s.
    private func settledFdTable(target: Int?, timeout: Double = 15) -> [Int: String] {
        let deadline = monotonicSeconds() + timeout
        var table = compositor.fdTable()
        var stableSince = monotonicSeconds()
        while monotonicSeconds() < deadline {
            pump(timeoutMs: 20)
            observer.step(now: monotonicSeconds())
            let now = compositor.fdTable()
            if let target, now.count == target { return now }
            if now.count != table.count { stableSince = monotonicSeconds() }
            table = now
            if target == nil, monotonicSeconds() - stableSince > 0.3 { return table }
        }
        return table
    }

    private func finish() {
        report.observerFrames += observer.frames
        report.observerRoundtrips += observer.roundtrips
        report.longestFrameGap = max(report.longestFrameGap, observer.longestFrameGap)
        report.longestRoundtrip = max(report.longestRoundtrip, observer.longestRoundtrip)
        // A crash or hang that ended the run was reported already.
        guard !stoppedByFailure else { return }
        guard compositor.isRunning else {
            crashed()
            return
        }
        if let problem = observer.problem(now: monotonicSeconds()) { compositorHung(problem); return }

        // Every fuzz client is gone: compositord must be back to the fds it had before them.
        let table = settledFdTable(target: baseline.count)
        report.fdEnd = table.count
        report.rssEndKiB = compositor.residentKiB()
        report.mapsEnd = compositor.mappingCount()
        if table.count != baseline.count {
            report.fdLeaks += 1
            let added = table.filter { baseline[$0.key] != $0.value }.map { "\($0.key) -> \($0.value)" }.sorted()
            let removed = baseline.filter { table[$0.key] != $0.value }.map { "\($0.key) -> \($0.value)" }.sorted()
            fail("fd count \(table.count) after the run, baseline \(baseline.count); new: \(added.prefix(20).joined(separator: ", ")); gone: \(removed.prefix(20).joined(separator: ", "))")
        }
        let status = compositor.terminate(timeout: 20)
        if status != 0 {
            report.badExits += 1
            fail("compositord exited \(status.map(String.init) ?? "(killed: no exit within 20 s)") on SIGTERM, not 0\n\(compositor.stderrTail(lines: 40))")
        }
        checkSanitizer()
        observer.connection.close()
    }

    private func checkSanitizer() {
        if let text = compositor.sanitizerReportText() {
            let line = String(text.prefix { $0 != "\n" })
            report.sanitizerReports += 1
            let path = saveArtifact(kind: "sanitizer", details: "sanitizer report about compositord:\n\(text.prefix(100_000))")
            fail("sanitizer: \(line) (\(path))")
        }
    }

    private func crashed() {
        report.crashes += 1
        let status = compositor.exitStatus ?? -1
        let how = status > 128 ? "signal \(status - 128)" : "exit status \(status)"
        let path = saveArtifact(kind: "crash", details: "compositord ended with \(how)\n--- compositord stderr (tail) ---\n\(compositor.stderrTail(lines: 120))")
        let sessions = (recent + active).map { String($0.index) }.joined(separator: ", ")
        fail("compositord died (\(how)) with sessions \(sessions) running or just ended; traces: \(path)")
        checkSanitizer()
        for s in active { s.close(); finished(s) }
        active = []
        observer.connection.close()
    }

    private func compositorHung(_ problem: String) {
        report.hangs += 1
        let wchan = compositor.waitChannel()
        let path = saveArtifact(kind: "hang", details: "\(problem)\ncompositord \(wchan)\n--- compositord stderr (tail) ---\n\(compositor.stderrTail(lines: 80))")
        fail("compositord stopped serving the observer: \(problem) (\(wchan)); trace: \(path)")
        compositor.send(signal: SIGKILL)
        _ = compositor.terminate(timeout: 5)
        for s in active { s.close(); finished(s) }
        active = []
        observer.connection.close()
    }

    private func fail(_ message: String) {
        report.failures.append(message)
        log("FAILURE: \(message)")
    }

    // MARK: sessions

    @discardableResult
    private func startSession(_ index: Int) -> Bool {
        let seed = FuzzRandom.sessionSeed(run: options.seed, session: index)
        var pick = FuzzRandom(seed: seed ^ 0x5241_5721)
        do {
            let session: FuzzSession = pick.chance(options.rawFraction)
                ? try RawSession(index: index, seed: seed, socketPath: compositor.socketPath, replyTimeout: options.replyTimeout,
                                 stallTimeout: options.stallTimeout)
                : try TypedSession(index: index, seed: seed, socketPath: compositor.socketPath, replyTimeout: options.replyTimeout)
            active.append(session)
            return true
        } catch {
            if compositor.isRunning { fail("session \(index): cannot connect: \(error)") }
            return false
        }
    }

    private func collectFinished() {
        var still: [FuzzSession] = []
        for s in active {
            if let outcome = s.outcome {
                switch outcome {
                case .stalled:
                    // Only a stall if the compositor kept serving others meanwhile.
                    if let problem = observer.problem(now: monotonicSeconds()) {
                        sessionHung(s, "raw session stalled and \(problem)")
                    }
                case .hang(let why):
                    sessionHung(s, why)
                default:
                    break
                }
                finished(s)
            } else {
                still.append(s)
            }
        }
        active = still
    }

    private func sessionHung(_ s: FuzzSession, _ why: String) {
        report.hangs += 1
        let path = saveArtifact(kind: "hang", details: "session \(s.index): \(why)\ncompositord \(compositor.waitChannel())", focus: s)
        fail("session \(s.index) (\(s.kind), seed \(s.seed)): \(why); trace: \(path)")
    }

    private func finished(_ s: FuzzSession) {
        report.record(s)
        if options.verbose, case .protocolError(let e)? = s.outcome {
            let detail = (s as? TypedSession).map { "aggression \($0.aggression), " } ?? ""
            log("session \(s.index) \(s.kind) (\(detail)\(s.requestCount) requests): \(e.interface)@\(e.objectID) code \(e.code): \(e.message)")
        }
        recent.append(s)
        if recent.count > 4 { recent.removeFirst() }
        if let dir = options.traceDirectory {
            var text = "session \(s.index) \(s.kind) seed \(s.seed) outcome \(s.outcome?.label ?? "-")"
            if case .protocolError(let e)? = s.outcome { text += ": \(e.interface)@\(e.objectID) code \(e.code): \(e.message)" }
            writeText("\(dir)/session-\(s.index).txt", text + "\n" + s.connection.trace.joined(separator: "\n") + "\n")
        }
    }

    // MARK: polling

    private func pump(timeoutMs: Int32) {
        var connections = active.map(\.connection).filter { !$0.isClosed }
        if let observer, !observer.connection.isClosed { connections.append(observer.connection) }
        var pfds = connections.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN) | ($0.wantsWrite ? Int16(POLLOUT) : 0), revents: 0) }
        let n = poll(&pfds, nfds_t(pfds.count), timeoutMs)
        guard n > 0 else { return }
        for (i, c) in connections.enumerated() where pfds[i].revents != 0 {
            if pfds[i].revents & Int16(POLLOUT) != 0 { c.flush() }
            if pfds[i].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { c.readAvailable() }
        }
    }

    // MARK: artifacts

    /// Writes the seed, how to replay, and the traces of the sessions involved; returns the path.
    private func saveArtifact(kind: String, details: String, focus: FuzzSession? = nil) -> String {
        var path: String
        repeat {
            artifactCount += 1
            path = "\(options.artifacts)/protocol-fuzz-\(kind)-seed\(options.seed)-\(artifactCount).txt"
        } while access(path, F_OK) == 0
        var text = "protocol-fuzz \(kind), seed \(options.seed)\n\(details)\n\n"
        let sessions = focus.map { [$0] } ?? (recent + active)
        if let last = sessions.map(\.index).max() {
            text += "replay the run: protocol-fuzz --seed \(options.seed) --first-session \(options.firstSession) --iterations \(last + 1 - options.firstSession) --clients \(options.clients)\n"
            for s in sessions {
                text += "replay one session: protocol-fuzz --seed \(options.seed) --first-session \(s.index) --iterations 1 --clients 1\n"
            }
        }
        for s in sessions {
            text += "\n=== session \(s.index) (\(s.kind), session seed \(s.seed)), outcome \(s.outcome?.label ?? "running"), \(s.connection.trace.count) messages ===\n"
            text += s.connection.trace.joined(separator: "\n") + "\n"
        }
        writeText(path, text)
        return path
    }
}

func writeText(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    let bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        off += n
    }
    close(fd)
}
