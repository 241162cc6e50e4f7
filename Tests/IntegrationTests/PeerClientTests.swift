import Foundation
import Testing

/// Clients nobody here wrote.
@Suite struct PeerClientTests {
    @Test func westonSimpleShmRuns3sWithoutProtocolError() throws {
        let path = "/usr/bin/weston-simple-shm"
        try #require(FileManager.default.fileExists(atPath: path), "install the weston package (scripts/test does)")
        let c = try CompositorProcess()
        let client = try c.start(path, tag: "simple-shm")
        sleep(3)
        #expect(client.isRunning, "weston-simple-shm exited early: \(client.stderr)")
        let shot = try c.screenshot()
        client.signal(SIGINT)
        let r = client.wait(timeout: 10)
        #expect(!r.timedOut)
        #expect(!r.stderr.lowercased().contains("error"), "stderr: \(r.stderr)")
        #expect(!c.log.contains("protocol error"), "log: \(c.log)")
        // Its 250×250 window is placed at (32, 32) and is not background.
        #expect(shot.rgb(32 + 125, 32 + 125) != DemoClientTests.background)
        #expect(shot.rgb(20, 20) == DemoClientTests.background)
        #expect(c.isRunning)
    }
}

extension PeerClientTests {
    /// weston-simple-damage binds wl_compositor at the advertised version with libwayland 1.21's
    /// v5 tables: it must not receive v6-only events.
    @Test func westonSimpleDamageRuns3sWithoutError() throws {
        let path = "/usr/bin/weston-simple-damage"
        try #require(FileManager.default.fileExists(atPath: path), "install the weston package (scripts/test does)")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let client = try c.start(path, tag: "simple-damage")
        sleep(3)
        #expect(client.isRunning, "weston-simple-damage exited early: \(client.stderr)")
        // Its 300×200 window at (32, 32): a 10-pixel white border around a dark field in which a
        // green ball bounces.
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 5, 32 + 100) == 0xFF_FFFF && shot.rgb(32 + 294, 32 + 100) == 0xFF_FFFF)
        #expect(shot.rgb(32 + 150, 32 + 5) == 0xFF_FFFF && shot.rgb(32 + 150, 32 + 194) == 0xFF_FFFF)
        #expect(shot.rgb(32 + 300, 32 + 100) == DemoClientTests.background)
        let ball = (32 + 10 ..< 32 + 290).contains { x in
            (32 + 10 ..< 32 + 190).contains { y in
                let p = shot.rgb(x, y)
                return (p >> 8) & 0xFF >= 0xC0 && (p >> 16) & 0xFF < 0x40 && p & 0xFF < 0x40
            }
        }
        #expect(ball, "no green ball inside the border")
        client.signal(SIGINT)
        let r = client.wait(timeout: 10)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("no event"), "\(r.stderr)")
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    @Test func waylandInfoListsEveryGlobalWithItsVersion() throws {
        let path = "/usr/bin/wayland-info"
        try #require(FileManager.default.fileExists(atPath: path), "install wayland-utils (scripts/test does)")
        let c = try CompositorProcess()
        let r = try c.run(path, [], timeout: 20, tag: "wayland-info")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        for (iface, version) in [("wl_compositor", 6), ("wl_shm", 1), ("wl_output", 4), ("xdg_wm_base", 5),
                                 ("wp_presentation", 1), ("wl_data_device_manager", 3)] {
            let line = r.stdout.split(separator: "\n").first { $0.contains("interface: '\(iface)'") } ?? ""
            #expect(line.contains("version:  \(version),"), "\(iface): \(line)")
        }
        // The 13 wl_shm formats, ARGB8888 (0) and XRGB8888 (1) among them.
        #expect(r.stdout.contains("0 = 'AR24'") && r.stdout.contains("1 = 'XR24'") && r.stdout.contains("'RG16'"))
        #expect(r.stdout.contains("name: HEADLESS-1"))
        #expect(r.stdout.contains("width: 1920 px, height: 1080 px, refresh: 60.000 Hz"))
        #expect(r.stdout.contains("presentation clock id: 1 (CLOCK_MONOTONIC)"), "\(r.stdout)")
        // The v4 compatibility xdg_wm_base is for quirky clients only (ClientQuirks).
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("interface: 'xdg_wm_base'") }.count == 1)
        for (iface, version) in [("wl_seat", 7), ("wl_subcompositor", 1), ("wp_viewporter", 1)] {
            let line = r.stdout.split(separator: "\n").first { $0.contains("interface: '\(iface)'") } ?? ""
            #expect(line.contains("version:  \(version),"), "\(iface): \(line)")
        }
        // No input hardware, but the seat's own keyboard (us by default) is always there.
        #expect(r.stdout.contains("name: seat0\n\tcapabilities: keyboard\n"), "\(r.stdout)")
        #expect(r.stdout.contains("keyboard repeat rate: 25\n\tkeyboard repeat delay: 600"), "\(r.stdout)")
    }
}

extension PeerClientTests {
    /// glmark2 swaps without frame callbacks (swap interval 0), several commits per vblank, on
    /// Mesa's software EGL, which has a few buffers and waits for a release (by roundtrips) when
    /// all are busy. When releases waited for the next vblank it crashed (issue 15 item 6). Mesa's
    /// pools are memfds that allow sealing but arrive unsealed: the default policy seals them.
    @Test(arguments: ["on-demand", "every-frame"]) func glmark2SwappingFasterThanTheRefreshRuns(mode: String) throws {
        let path = "/usr/bin/glmark2-es2-wayland"
        try #require(FileManager.default.fileExists(atPath: path), "install glmark2-es2-wayland (scripts/setup --test does)")
        let c = try CompositorProcess(["--composite", mode])
        let r = try c.run(path, ["-b", "build:duration=2", "--size", "320x240"], timeout: 60, tag: "glmark2")
        #expect(r.status == 0, "exit \(r.status): \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("glmark2 Score"), "\(r.stdout)")
        #expect(!c.log.contains("protocol error") && !c.log.contains("pool refused"), "\(c.log)")
        #expect(c.log.contains("sealed a client's memfd pool on its behalf"), "\(c.log)")
    }
}
