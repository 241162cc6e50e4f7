import Foundation
import Testing

/// Issue 9, slow and stuck clients: a client that never reads its socket is disconnected once
/// libwayland's buffer for it is full (1.21: `wl_connection_write` fails with EAGAIN, the client is
/// flagged, and `wl_client_connection_data` destroys it: "error in client communication"); a client
/// that hoards buffers only hurts itself. Meanwhile compositord never blocks: an observer and a
/// few rendering windows keep going, and the fd table returns to its baseline.
@Suite struct SlowClientTests {
    /// A compositor with 8 rendering windows and the observer (one stress-client, until SIGINT).
    static func compositorWithLoad() throws -> (CompositorProcess, StressClientRun) {
        let c = try CompositorProcess(["--width", "1280", "--height", "720"])
        return (c, try StressClientRun.ready(c, ["--renderers", "8", "--observer"], tag: "others"))
    }

    /// Three rounds of four never-read clients at once (and at least three seconds of them).
    @Test func aClientThatNeverReadsIsDisconnectedAndNobodyElseNotices() throws {
        let (c, others) = try Self.compositorWithLoad()
        let baseline = c.footprint.fds
        let started = Date()
        var rounds = 0
        while rounds < 3 || Date().timeIntervalSince(started) < 3 {
            let stuck = try (0..<4).map { try c.start("demo-client", ["--misbehave", "never-read"], tag: "never-read-\(rounds)-\($0)") }
            for (i, client) in stuck.enumerated() {
                let r = client.wait(timeout: 60)
                #expect(r.status == 5, "round \(rounds) client \(i): exit \(r.status): \(r.stdout) \(r.stderr)")
                #expect(r.stdout.contains("misbehave never-read: disconnected: the compositor closed the connection after "), "\(r.stdout)")
                #expect(!r.stderr.contains("protocol error"), "\(r.stderr)")
            }
            #expect(c.isRunning, "compositord died")
            rounds += 1
        }
        // libwayland says why, once per client (routed to compositord's log).
        let drops = c.log.components(separatedBy: "libwayland: error in client communication").count - 1
        #expect(drops == 4 * rounds, "\(c.log.suffix(3000))")
        #expect(c.waitForFDCount(baseline) == baseline, "descriptors left behind by the stuck clients")
        others.expectUnharmed("never-read x\(4 * rounds)", seconds: 2)
        #expect(c.terminate().status == 0)
    }

    /// hoard-buffers: 240 new buffers attached without reusing or destroying any, then one buffer
    /// kept attached for 240 frames. compositord keeps no private copy of them: its private
    /// (anonymous) memory grows by less than `anonToleranceKB` meanwhile, though the hoard is
    /// 3.75 MB of pool; the pool's pages compositord maps count as shared memory and go with the client.
    @Test func aClientThatHoardsBuffersOnlyHurtsItself() throws {
        let anonToleranceKB = 2048
        let (c, others) = try Self.compositorWithLoad()
        let baselineFDs = c.footprint.fds
        // A first hoarder warms compositord's allocator up (object tables, arenas).
        #expect(try c.run("demo-client", ["--misbehave", "hoard-buffers", "--frames", "60"], timeout: 60, tag: "warmup").status == 0)
        #expect(c.waitForFDCount(baselineFDs) == baselineFDs, "the first hoarder's pool or socket stayed open")
        let baseline = c.footprint
        let hoarder = try c.start("demo-client", ["--misbehave", "hoard-buffers", "--frames", "240"], tag: "hoarder")
        var peak = baseline
        while hoarder.isRunning {
            peak = peak.peak(with: c.footprint)
            usleep(100_000)
        }
        let r = hoarder.wait(timeout: 0)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("attached 240 buffers without reusing or destroying any (239 released"), "\(r.stdout)")
        #expect(r.stdout.contains("(released 0 times)"), "the kept buffer was released while attached: \(r.stdout)")
        if !Sanitizer.isActive {
            #expect(peak.rssAnon - baseline.rssAnon <= anonToleranceKB, "private memory grew while a client hoarded: baseline \(baseline), peak \(peak)")
        }
        #expect(c.waitForFDCount(baselineFDs) == baselineFDs, "the hoarder's pool or socket stayed open")
        let after = c.footprint
        if !Sanitizer.isActive {
            #expect(after.vmRSS <= baseline.vmRSS + anonToleranceKB, "after the hoarder left: \(after), baseline \(baseline)")
        }
        print("hoard-buffers: baseline \(baseline); peak \(peak); after \(after)")
        others.expectUnharmed("hoard-buffers", seconds: 2)
        #expect(c.terminate().status == 0)
    }
}
