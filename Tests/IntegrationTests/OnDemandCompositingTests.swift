import Foundation
import PNG
import Testing

/// `--composite on-demand` (the default): vblanks latch commits (frame callbacks keep their
/// pace) but the output is composited only for consumers; what they get is exactly the latched
/// state, and pools that could shrink are checked at the latch instead of being read.
@Suite struct OnDemandCompositingTests {
    /// The "frames" and "frames-composited" counts compositord logs when it shuts down.
    static func frameCounts(_ log: String) -> (run: Int, composited: Int)? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("compositor shut down") }) else { return nil }
        func value(_ key: String) -> Int? {
            guard let r = line.range(of: " \(key)=") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        guard let run = value("frames"), let composited = value("frames-composited") else { return nil }
        return (run, composited)
    }

    @Test func framesKeepTheirPaceWithoutCompositing() throws {
        let c = try CompositorProcess(["--composite", "on-demand"])
        let r = try c.run("demo-client", ["--frames", "60"], timeout: 30)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("frames: 60"), "stdout: \(r.stdout)")
        let end = c.terminate()
        #expect(end.status == 0)
        let counts = try #require(Self.frameCounts(end.stderr), "log: \(end.stderr)")
        #expect(counts.run >= 60)
        // Only the screenshot written at exit (CompositorProcess passes --screenshot) composites.
        #expect(counts.composited == 1, "log: \(end.stderr)")
    }

    @Test func onDemandIsTheDefault() throws {
        let c = try CompositorProcess()
        let r = try c.run("demo-client", ["--frames", "30"], timeout: 30)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let end = c.terminate()
        let counts = try #require(Self.frameCounts(end.stderr), "log: \(end.stderr)")
        #expect(counts.run >= 30 && counts.composited == 1, "log: \(end.stderr)")
    }

    @Test func everyFrameCompositesEachVblankWithDamage() throws {
        let c = try CompositorProcess(["--composite", "every-frame"])
        let r = try c.run("demo-client", ["--frames", "60"], timeout: 30)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let end = c.terminate()
        let counts = try #require(Self.frameCounts(end.stderr), "log: \(end.stderr)")
        #expect(counts.composited >= 60, "log: \(end.stderr)")
    }

    /// Screenshots and grim (screencopy) see the pattern and the moving bar: each composites
    /// the damage latched since the last one.
    @Test func consumersSeeTheLatchedState() throws {
        let c = try CompositorProcess(["--composite", "on-demand", "--width", "640", "--height", "480"])
        let client = try c.start("demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        let (l, t, s) = (DemoClientTests.left, DemoClientTests.top, DemoClientTests.size)
        let a = try c.screenshot { $0.rgb(l + s / 4, t + s / 4) == 0xFF0000 }
        #expect(a.rgb(l + 3 * s / 4, t + 3 * s / 4) == 0xFFFF00)
        #expect(a.rgb(l - 1, t - 1) == DemoClientTests.background)
        usleep(300_000)
        let b = try c.screenshot()
        let row = t + s / 2
        #expect((l..<(l + s)).map { a.rgb($0, row) } != (l..<(l + s)).map { b.rgb($0, row) }, "the bar should have moved")

        let grim = "/usr/bin/grim"
        try #require(FileManager.default.fileExists(atPath: grim), "install grim (scripts/test does)")
        let path = "\(c.runtime.path)/grim.png"
        #expect(try c.run(grim, [path], timeout: 30, tag: "grim").status == 0)
        let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        #expect(shot.rgb(l + s / 4, t + s / 4) == 0xFF0000 && shot.rgb(l + 3 * s / 4, t + s / 4) == 0x00FF00)
        #expect(shot.rgb(l + s / 4, t + 3 * s / 4) == 0x0000FF && shot.rgb(l + s, t + s) == DemoClientTests.background)
    }

    /// demo-client --misbehave truncate-after-commit shrinks its shm_open pool to 0 bytes under a
    /// buffer it commits again. On demand nothing reads the pixels without a consumer, so the
    /// latch check (an fstat of pools that could shrink) must catch it at that frame, with the
    /// error a SIGBUS during the read gives every-frame; --stats tells the two apart.
    @Test(arguments: ["on-demand", "every-frame"])
    func aPoolShrunkUnderACommittedBufferIsCaughtAtThatFrame(mode: String) throws {
        let stats = RuntimeDir()
        let statsPath = "\(stats.path)/stats.json"
        let c = try CompositorProcess(["--composite", mode, "--stats", statsPath])
        let r = try c.run("demo-client", ["--misbehave", "truncate-after-commit"], timeout: 30)
        #expect(r.status == 3, "exit \(r.status), stdout: \(r.stdout), stderr: \(r.stderr)")
        #expect(r.stderr.contains("protocol error: wl_buffer@") && r.stderr.contains(" code 2: "), "stderr: \(r.stderr)")
        let end = c.terminate()
        #expect(end.status == 0)
        let counts = try #require(Self.frameCounts(end.stderr), "log: \(end.stderr)")
        if mode == "on-demand" { #expect(counts.composited == 1, "only the exit screenshot: \(end.stderr)") }
        let data = try #require(FileManager.default.contents(atPath: statsPath))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["shrunk_at_latch"] as? Int == (mode == "on-demand" ? 1 : 0), "\(totals)")
        #expect(totals["sigbus_faults"] as? Int == (mode == "on-demand" ? 0 : 1), "\(totals)")
    }

    @Test func unknownModeIsRefused() throws {
        let rt = RuntimeDir()
        let child = try Child("\(productsDirectory)/compositord", ["--headless", "--composite", "sometimes"],
                              environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: "compositord")
        let r = child.wait(timeout: 10)
        #expect(r.status == 64 || r.status == 2, "status \(r.status)")
        #expect(r.stderr.contains("--composite must be on-demand or every-frame"), "stderr: \(r.stderr)")
    }
}
