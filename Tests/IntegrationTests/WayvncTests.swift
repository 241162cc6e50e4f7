import Foundation
import ClientKit
import PNG
import Testing

/// wayvnc (Debian 0.5), the VNC server people put in front of a headless compositor, serves
/// compositord's output view-only: it captures with `copy_with_damage` into the same buffers frame
/// after frame, so what a VNC client sees is exactly what the damage-only copies (issue 18) keep
/// up to date. demo-client's bar moves 4 px a frame: a copy that missed the damage where the bar
/// was would leave a trail of white columns.
@Suite struct WayvncTests {
    @Test func viewOnlyServerShowsTheMovingWindowWithoutTrails() throws {
        let wayvnc = "/usr/bin/wayvnc", capture = "/usr/bin/gvnccapture"
        try #require(FileManager.default.fileExists(atPath: wayvnc), "install wayvnc (scripts/setup --test does)")
        try #require(FileManager.default.fileExists(atPath: capture), "install gvncviewer for gvnccapture (scripts/setup --test does)")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let client = try c.start("demo-client", ["--frames", "1000000"])
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        _ = try c.screenshot { $0.rgb(96, 96) == 0xFF0000 }

        // A port of this process's own (gvnccapture names it as a display: port − 5900).
        let display = 200 + Int(getpid() % 700)
        let server = try c.start(wayvnc, ["--disable-input", "127.0.0.1", "\(5900 + display)"], tag: "wayvnc")
        defer { server.signal(SIGKILL); server.wait(timeout: 5) }

        var taken = 0
        func vncFrame() throws -> PNGImage? {
            taken += 1
            let path = "\(c.runtime.path)/vnc-\(taken).png"
            let result = try c.run(capture, ["127.0.0.1:\(display)", path], timeout: 20, tag: "gvnccapture")
            guard result.status == 0, let data = FileManager.default.contents(atPath: path) else { return nil }
            return try PNGImage(bytes: [UInt8](data))
        }
        // Until wayvnc listens and has its first frame (before it, a client gets its blank grey).
        let deadline = Date().addingTimeInterval(30)
        var first: PNGImage?
        while Date() < deadline {
            if let shot = try vncFrame(), shot.width == 640, shot.rgb(48, 48) == 0xFF0000 { first = shot; break }
            usleep(200_000)
        }
        try #require(first != nil, "no VNC frame showing the window from wayvnc; its log:\n\(server.stderr)")
        var shots = [first!]
        for _ in 0..<3 {
            usleep(300_000)  // the bar moves on between captures
            shots.append(try #require(try vncFrame(), "gvnccapture failed after wayvnc had served a frame"))
        }
        var barPositions: Set<Int> = []
        for shot in shots {
            #expect(shot.width == 640 && shot.height == 480)
            #expect(shot.rgb(48, 48) == 0xFF0000 && shot.rgb(48, 272) == 0x0000FF, "the window's left quadrants")
            #expect(shot.rgb(600, 400) == 0x20_2830, "the background")
            // Row 160 crosses the bar (white, 16 px wide) and the right quadrants, nothing else white.
            let white = (32..<288).filter { shot.rgb($0, 160) == 0xFF_FFFF }
            #expect(!white.isEmpty && white.count <= 16 && white.last! - white.first! < 16,
                    "one bar, no trail: white at x = \(white)")
            if let first = white.first { barPositions.insert(first) }
        }
        #expect(barPositions.count >= 2, "the bar did not move between VNC frames: \(barPositions)")
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        #expect(server.isRunning, "wayvnc exited: \(server.stderr)")
    }
}

extension WayvncTests {
    /// wayvnc with input (the issue's "a VNC client's click focuses a window and its typing
    /// reaches the app"): foot is mapped, then a small window over its corner takes the focus;
    /// a VNC client (Fixtures/rfb_input.py, RFB 3.8) clicks inside foot and types a line, which
    /// reaches foot through wayvnc's zwlr_virtual_pointer_v1 and zwp_virtual_keyboard_v1.
    @Test func aVNCClientsClickFocusesFootAndItsTypingReachesIt() throws {
        let wayvnc = "/usr/bin/wayvnc"
        try ApplicationSession.require(wayvnc, package: "wayvnc")
        try ApplicationSession.require("/usr/bin/foot", package: "foot")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let out = "\(c.runtime.path)/typed.txt"
        let foot = try c.start("/usr/bin/foot", ["--config=/dev/null", "/bin/sh", "-c", "read line; echo \"$line\" > '\(out)'; sleep 600"], tag: "foot")
        defer { foot.signal(SIGKILL); foot.wait(timeout: 10) }
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: .seconds(30))
        let list = try ForeignToplevelList(registry: context.registry, timeout: .seconds(30))
        let deadline = Date().addingTimeInterval(30)
        while !list.toplevels.contains(where: { $0.appID == "foot" }), Date() < deadline {
            _ = try? context.connection.roundtrip(timeout: .seconds(30))
            usleep(50_000)
        }
        #expect(list.toplevels.contains { $0.appID == "foot" }, "foot did not map: \(foot.stderr)")
        // The newest window is active: the keyboard focus leaves foot.
        let cover = Toplevel(context: context, title: "cover", appID: "cover")
        try cover.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
        let buffers = try BufferSet(shm: context.shm, width: 32, height: 32, count: 1)
        _ = cover.present(buffers.buffers[0], requestFrame: false)
        try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the map")

        let port = 7100 + Int(getpid() % 700)  // not the view-only test's ports (5900 + 200...899): they run at once
        let server = try c.start(wayvnc, ["127.0.0.1", "\(port)"], tag: "wayvnc")
        defer { server.signal(SIGKILL); server.wait(timeout: 5) }
        let vnc = try c.run("/usr/bin/python3", ["\(ApplicationTests.fixtures)/rfb_input.py", "127.0.0.1", "\(port)",
                                                 "click:300,300", "typed through VNC", "Return"], timeout: 30, tag: "rfb")
        #expect(vnc.status == 0 && vnc.stdout.contains("size 640x480"), "\(vnc.stdout) \(vnc.stderr) wayvnc: \(server.stderr)")
        let written = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: out), Date() < written { usleep(50_000) }
        usleep(100_000)
        #expect((try? String(contentsOfFile: out, encoding: .utf8)) == "typed through VNC\n", "wayvnc: \(server.stderr)")
        #expect(server.isRunning && c.isRunning)
    }
}
