import Foundation
import PNG
import Testing

/// Stock clients from Debian packages, run as they ship: each must come up, draw where its window
/// is, keep running without a protocol error, and exit cleanly on SIGINT.
/// (weston-simple-shm and weston-simple-damage are in PeerClientTests; grim in CaptureTests.)
@Suite struct StockClientTests {
    static let background: UInt32 = 0x20_2830

    /// A stock client running against its own compositor, with the window on screen.
    struct Running {
        let compositor: CompositorProcess
        let client: Child
        let shot: PNGImage
        /// compositord's log while the client ran (before it was told to stop).
        let logWhileRunning: String
    }

    /// Starts `path` and waits (up to 15 s) until `onScreen` holds for a screenshot.
    func start(_ path: String, _ arguments: [String] = [], onScreen: (PNGImage) -> Bool) throws -> Running {
        try #require(FileManager.default.fileExists(atPath: path), "install the weston package (scripts/test does)")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let client = try c.start(path, arguments, tag: (path as NSString).lastPathComponent)
        let shot = try c.screenshot(until: onScreen)
        return Running(compositor: c, client: client, shot: shot, logWhileRunning: c.log)
    }

    func protocolErrors(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains("protocol error") }
    }

    // MARK: weston-flower

    /// weston's toytoolkit client: a 200×200 ARGB window with a flower of random petals and
    /// colours (each channel ≥ 50 %, alpha ≥ 50 %) on a transparent background. It binds wl_seat,
    /// wl_subcompositor and wl_data_device_manager when advertised and runs without them.
    @Test func westonFlowerDrawsItsFlowerOverTheBackground() throws {
        let r = try start("/usr/bin/weston-flower") { $0.rgb(32 + 100, 32 + 100) != Self.background }
        defer { r.client.wait(timeout: 5) }
        #expect(r.client.isRunning, "weston-flower exited early: \(r.client.stderr)")
        // The centre is always inside the petals (inner radius ≥ 20); the corners are transparent.
        let centre = r.shot.rgb(32 + 100, 32 + 100)
        for shift in [16, 8, 0] as [UInt32] {
            #expect((centre >> shift) & 0xFF >= 0x40, "flower centre \(String(centre, radix: 16)) is too dark for a ≥ 50 % colour")
        }
        #expect(r.shot.rgb(32 + 1, 32 + 1) == Self.background, "transparent corner")
        #expect(r.shot.rgb(32 + 198, 32 + 198) == Self.background, "transparent corner")
        #expect(r.shot.rgb(20, 20) == Self.background)
        #expect(protocolErrors(r.logWhileRunning).isEmpty, "\(r.logWhileRunning)")

        r.client.signal(SIGTERM)
        let result = r.client.wait(timeout: 10)
        #expect(!result.timedOut)
        // toytoolkit has no SIGTERM handler: the default action ends it (no abort, no crash).
        #expect(result.status == 128 + SIGTERM, "\(result.stderr)")
        #expect(!result.stderr.lowercased().contains("error"), "\(result.stderr)")
        #expect(protocolErrors(r.compositor.log).isEmpty, "\(r.compositor.log)")
        #expect(r.compositor.isRunning)
    }

    // MARK: weston-presentation-shm

    /// One line of presentation-shm's feedback output.
    struct FeedbackLine {
        var frame: Int, p2pMicroseconds: Int, flags: String, sequence: UInt64
    }

    /// Parses `-f` lines (`  7: f2c  0 ms, c2p 16 ms, f2p 16 ms, p2p 16666 us, t2p  16290, [____], seq 67`)
    /// and `-p` lines (`  7: c2p   16 ms, p2p 16666 us, t2p  16292 us, [____] seq 67`).
    func feedbackLines(_ output: String) -> [FeedbackLine] {
        let pattern = /^\s*(\d+): (?:f2c\s+\d+ ms, )?c2p\s+\d+ ms, (?:f2p\s+\d+ ms, )?p2p\s+(-?\d+) us, t2p\s+-?\d+(?: us)?, \[([_a-z]{4})\],? seq (\d+)$/
        return output.split(separator: "\n").compactMap { line in
            guard let m = try? pattern.wholeMatch(in: line),
                  let frame = Int(m.1), let p2p = Int(m.2), let seq = UInt64(m.4) else { return nil }
            return FeedbackLine(frame: frame, p2pMicroseconds: p2p, flags: String(m.3), sequence: seq)
        }
    }

    /// Debian 12's weston 10 build binds xdg_wm_base at the advertised version without a
    /// wm_capabilities handler, so it aborts against any xdg_wm_base v5: it is shown the v4
    /// compatibility global (ClientQuirks), which the log says.
    /// `-f` commits on frame callbacks, `-p` on the previous commit's `presented`: every frame is
    /// presented, with the 60 Hz refresh between presentations and the MSC counting vblanks.
    @Test(arguments: ["-f", "-p"])
    func westonPresentationShmPrintsPresentedFramesOnThe60HzGrid(mode: String) throws {
        // Its 250×250 window: corners outside the disc are black (top left) and white (top right).
        let r = try start("/usr/bin/weston-presentation-shm", [mode]) {
            $0.rgb(32 + 5, 32 + 5) == 0x000000 && $0.rgb(32 + 244, 32 + 5) == 0xFF_FFFF
        }
        defer { r.client.wait(timeout: 5) }
        #expect(r.shot.rgb(32 + 5, 32 + 5) == 0x000000 && r.shot.rgb(32 + 244, 32 + 5) == 0xFF_FFFF)
        #expect(r.shot.rgb(32 + 5, 32 + 244) == 0xFF_FFFF && r.shot.rgb(32 + 244, 32 + 244) == 0x000000)
        #expect(r.shot.rgb(32 + 250, 32 + 5) == Self.background)
        #expect(r.client.isRunning, "weston-presentation-shm exited early: \(r.client.stderr)")
        // stdout is a file, so it arrives in 4 KiB blocks (~40 lines): wait for the first block.
        let deadline = Date().addingTimeInterval(15)
        while feedbackLines(r.client.stdout).count < 20, r.client.isRunning, Date() < deadline { usleep(50_000) }
        let logWhileRunning = r.compositor.log
        #expect(logWhileRunning.contains("client quirk: shown xdg_wm_base v4"), "\(logWhileRunning)")
        #expect(protocolErrors(logWhileRunning).isEmpty, "\(logWhileRunning)")

        r.client.signal(SIGINT)
        let result = r.client.wait(timeout: 10)
        #expect(!result.timedOut)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("presentation-shm exiting"), "\(result.stderr)")
        #expect(!result.stdout.contains("discarded"), "every committed frame is shown: \(result.stdout)")
        let lines = feedbackLines(result.stdout)
        #expect(lines.count >= 20, "\(result.stdout)")
        for line in lines { #expect(line.flags == "____", "no kind flags on a headless output: \(line)") }
        for (a, b) in zip(lines, lines.dropFirst()) {
            #expect(b.frame == a.frame + 1)
            #expect(b.sequence > a.sequence, "MSC must increase: \(a) → \(b)")
            // p2p (truncated to µs) is the MSC difference times the 16 666 666 ns refresh.
            let expected = Double(b.sequence - a.sequence) * 16_666.666
            #expect(abs(Double(b.p2pMicroseconds) - expected) <= 1, "\(a) → \(b)")
        }
        // Its teardown destroys the xdg_surface before the xdg_toplevel, which is
        // defunct_role_object; whether that reaches compositord before the hang-up is a race.
        let teardown = protocolErrors(r.compositor.log).filter { !$0.contains("xdg_surface destroyed before its role object") }
        #expect(teardown.isEmpty, "\(r.compositor.log)")
        #expect(r.compositor.isRunning)
    }
}
