import Foundation
import Testing

/// Issue 9, load: 256 rendering clients, 1,000 idle connections and 10,000 connect/disconnect
/// cycles at once (stress-client, one process) against one compositord, with an observer window
/// measuring its frame rate throughout. compositord's fd table returns exactly to its baseline
/// and its resident memory to within `rssTolerance(connections:)`; the observer never drops below a quarter
/// of the refresh rate in any second. Figures: docs/robustness/load.md.
///
/// `COMPOSITORD_LOAD_SECONDS` (default 5), `COMPOSITORD_LOAD_CYCLES` (10,000) and
/// `COMPOSITORD_LOAD_CHURN` (100) scale the full round for the longer soak run by hand.
@Suite(.serialized) struct LoadTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seconds = environment["COMPOSITORD_LOAD_SECONDS"].flatMap(Double.init) ?? 5
    /// Under a sanitizer the compositor runs 10 to 25 times slower with 256 windows composited
    /// every frame, and 10,000 cycles took 233 to 486 s in CI; 2,000 still cover every way to leave.
    static let cycles = environment["COMPOSITORD_LOAD_CYCLES"].flatMap(Int.init) ?? (Sanitizer.isActive ? 2_000 : 10_000)
    static let churn = environment["COMPOSITORD_LOAD_CHURN"].flatMap(Int.init) ?? 100

    /// What resident memory may keep after everything disconnected, over the baseline taken after
    /// a warm-up round of the same shape: malloc keeps freed pages in its arenas and Swift's
    /// dictionaries keep their capacity, so the first round raises the floor; a leak grows with
    /// every round instead. 512 KiB of slack (measured: 156 kB). Without `--stats`, a departed
    /// client's counters are summed, not kept: 104 bytes per connection once failed this.
    static let rssToleranceKB = 512

    @Test func manyClientsLeaveNoTraceAndTheObserverKeepsItsFrameRate() throws {
        #expect(TestFileLimit.raise() >= 4096, "RLIMIT_NOFILE too low for 1,000+ connections")
        // Every frame composited: the load must include the renderer, as under a consumer.
        let c = try CompositorProcess(["--composite", "every-frame"])
        let cold = c.footprint

        // Warm-up: the same shape, fewer cycles. Its after-values are the baseline.
        let warmup = try StressClientRun(c, ["--renderers", "256", "--idle", "1000", "--cycles", "1000", "--duration", "1"], tag: "warmup")
        let w = warmup.wait(timeout: 300)
        #expect(w.status == 0, "warm-up: \(w.stderr)")
        let settled = c.waitForFDCount(cold.fds)
        #expect(settled == cold.fds, "warm-up left \(settled - cold.fds) descriptors open in compositord")
        let baseline = c.footprint

        let run = try StressClientRun(c, [
            "--renderers", "256", "--idle", "1000", "--cycles", "\(Self.cycles)", "--churn", "\(Self.churn)",
            "--observer", "--duration", "\(Self.seconds)",
        ], tag: "load")
        var peak = baseline
        let r = run.wait(timeout: 600) { peak = peak.peak(with: c.footprint) }
        #expect(!r.timedOut, "stress-client hung")
        #expect(r.status == 0, "stress-client: \(r.stderr)")
        #expect(c.isRunning, "compositord died: \(c.log.suffix(2000))")

        // Everything the load opened was there at once and is gone again.
        #expect(peak.fds >= baseline.fds + 256 + 1000, "peak fds \(peak.fds): the load was not all connected at once")
        let after = c.waitForFDCount(baseline.fds)
        #expect(after == baseline.fds, "compositord keeps \(after - baseline.fds) descriptors after every client left")
        usleep(500_000)  // the last frame and log lines
        let end = c.footprint
        let tolerance = Self.rssToleranceKB
        if !Sanitizer.isActive {
            #expect(end.vmRSS <= baseline.vmRSS + tolerance,
                    "VmRSS \(end.vmRSS) kB after the load, baseline \(baseline.vmRSS) kB (tolerance \(tolerance) kB)")
        }

        // Each kind of client did its part.
        let renderers = stressFields(r.stdout, "renderers:"), idle = stressFields(r.stdout, "idle:")
        let cycles = stressFields(r.stdout, "cycles:"), churn = stressFields(r.stdout, "churn:")
        #expect(Int(renderers["frames"] ?? "") ?? 0 > 256, "\(r.stdout)")
        #expect(idle["alive"] == "1000", "\(r.stdout)")
        #expect(cycles["done"] == "\(Self.cycles)" && cycles["failures"] == "0", "\(r.stdout)")
        #expect(churn["dropped"] == "\(Self.churn)", "\(r.stdout)")

        let observer = ObserverFigures(r.stdout)
        #expect(observer.perSecond.count >= Int(Self.seconds), "\(observer)")
        #expect(observer.minimum >= ObserverFigures.floor, "\(observer)")
        #expect(!c.log.contains("protocol error"), "a well-behaved client got a protocol error")

        print("""
            load figures (RSS tolerance \(tolerance) kB): cold \(cold)
              baseline after warm-up \(baseline)
              peak \(peak)
              after \(end)
              \(r.stdout.split(separator: "\n").filter { !$0.hasPrefix("ready") }.joined(separator: "\n  "))
            """)
        #expect(c.terminate().status == 0)
    }
}
