import Foundation
import Testing

/// The documented demo pattern and placement (README): the first toplevel's top-left corner is
/// at (32, 32); quadrants red, green, blue, yellow; background 0x202830.
@Suite struct DemoClientTests {
    static let background: UInt32 = 0x20_2830
    static let (left, top, size) = (32, 32, 256)

    @Test func rendersNFramesAndExits0() throws {
        let c = try CompositorProcess()
        let r = try c.run("demo-client", ["--frames", "30"], timeout: 30)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("frames: 30"), "stdout: \(r.stdout)")
        #expect(r.stdout.contains("anon-file: memfd"))
        #expect(c.isRunning)
    }

    @Test func screenshotHoldsThePatternAtTheDocumentedPlace() throws {
        let c = try CompositorProcess()
        let client = try c.start("demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        let (l, t, s) = (Self.left, Self.top, Self.size)
        let shot = try c.screenshot { $0.rgb(l + s / 4, t + s / 4) == 0xFF0000 }
        #expect(shot.width == 1920 && shot.height == 1080)
        // Quadrant centres (away from the animated band in rows [96, 160) of the buffer).
        #expect(shot.rgb(l + s / 4, t + s / 4) == 0xFF0000)
        #expect(shot.rgb(l + 3 * s / 4, t + s / 4) == 0x00FF00)
        #expect(shot.rgb(l + s / 4, t + 3 * s / 4) == 0x0000FF)
        #expect(shot.rgb(l + 3 * s / 4, t + 3 * s / 4) == 0xFFFF00)
        // Exact edges: first and last pixel of the window, and the background just outside.
        #expect(shot.rgb(l, t) == 0xFF0000)
        #expect(shot.rgb(l + s - 1, t + s - 1) == 0xFFFF00)
        #expect(shot.rgb(l - 1, t - 1) == Self.background)
        #expect(shot.rgb(l + s, t + s) == Self.background)
        #expect(shot.rgb(1000, 700) == Self.background)

        client.signal(SIGINT)
        let r = client.wait(timeout: 10)
        #expect(r.status == 0, "demo-client should exit 0 on SIGINT; stderr: \(r.stderr)")
        #expect(r.stdout.contains("frames: "))
    }

    @Test func animationChangesPixelsOnlyInTheBand() throws {
        let c = try CompositorProcess()
        let client = try c.start("demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        let (l, t, s) = (Self.left, Self.top, Self.size)
        // Wait for the window, then look at a band row across two screenshots.
        let a = try c.screenshot { $0.rgb(l + s / 4, t + s / 4) == 0xFF0000 }
        usleep(300_000)
        let b = try c.screenshot()
        let bandRow = t + s / 2
        let rowA = (l..<(l + s)).map { a.rgb($0, bandRow) }, rowB = (l..<(l + s)).map { b.rgb($0, bandRow) }
        #expect(rowA != rowB, "the white bar should move between frames")
        #expect(rowA.filter { $0 == 0xFFFFFF }.count <= 16)
        #expect(a.rgb(l + s / 4, t + s / 4) == b.rgb(l + s / 4, t + s / 4))
    }

    @Test func attachBeforeConfigureGetsTheXdgSurfaceError() throws {
        let c = try CompositorProcess()
        let r = try c.run("demo-client", ["--misbehave", "attach-before-configure"], timeout: 20)
        #expect(r.status == 3, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("protocol error: xdg_surface@"), "stderr: \(r.stderr)")
        #expect(r.stderr.contains(" code 3: "), "stderr: \(r.stderr)")
        #expect(c.isRunning)
        #expect(c.log.contains("protocol error"))
        // Other clients still work afterwards.
        let ok = try c.run("demo-client", ["--frames", "5"], timeout: 20)
        #expect(ok.status == 0)
    }

    @Test func noFdLeakAfterClientsLeave() throws {
        let c = try CompositorProcess()
        _ = try c.run("demo-client", ["--frames", "3"], timeout: 20)  // warm up lazily opened fds
        usleep(200_000)
        let baseline = ProcStat.fdCount(c.child.pid)
        for _ in 0..<3 { _ = try c.run("demo-client", ["--frames", "3"], timeout: 20) }
        _ = try c.run("demo-client", ["--misbehave", "attach-before-configure"], timeout: 20)
        usleep(200_000)
        #expect(ProcStat.fdCount(c.child.pid) == baseline)
    }

    @Test func idleCompositorUsesNoCPU() throws {
        let c = try CompositorProcess()
        _ = try c.run("demo-client", ["--frames", "3"], timeout: 20)
        usleep(300_000)
        let before = ProcStat.cpuTicks(c.child.pid)
        sleep(1)
        let after = ProcStat.cpuTicks(c.child.pid)
        // A busy loop or a timer re-armed every frame would show tens of ticks per second.
        #expect(after - before <= 2, "idle compositor used \(after - before) ticks in 1 s")
    }
}

extension DemoClientTests {
    /// Buffer destroyed while attached, surface destroyed with callbacks pending, client gone
    /// mid-frame: all legal, so no error, and the compositor and its fd table come through whole.
    @Test func destroyOrderingsAreSurvived() throws {
        let c = try CompositorProcess()
        _ = try c.run("demo-client", ["--frames", "3"], timeout: 20)
        usleep(200_000)
        let baseline = ProcStat.fdCount(c.child.pid)
        for _ in 0..<5 {
            let r = try c.run("demo-client", ["--misbehave", "destroy-orderings"], timeout: 20)
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stdout.contains("tolerated, as the protocol requires"))
        }
        usleep(200_000)
        #expect(c.isRunning)
        #expect(!c.log.contains("protocol error"))
        #expect(ProcStat.fdCount(c.child.pid) == baseline)
        #expect(try c.run("demo-client", ["--frames", "5"], timeout: 20).status == 0)
    }
}
