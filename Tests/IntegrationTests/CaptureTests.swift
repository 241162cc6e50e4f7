import Foundation
import PNG
import Testing

/// Frame consumers on the host (memfd backend): grim through screencopy + xdg-output, exact pixels.
@Suite struct CaptureTests {
    @Test func grimWritesTheDemoPatternAtExactPixels() throws {
        let grim = "/usr/bin/grim"
        try #require(FileManager.default.fileExists(atPath: grim), "install grim (scripts/test does)")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let client = try c.start("demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        _ = try c.screenshot { $0.rgb(96, 96) == 0xFF0000 }

        let full = "\(c.runtime.path)/grim.png", region = "\(c.runtime.path)/grim-region.png"
        #expect(try c.run(grim, [full], timeout: 30, tag: "grim").status == 0)
        #expect(try c.run(grim, ["-g", "32,32 256x256", region], timeout: 30, tag: "grim-region").status == 0)
        let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: full))))
        #expect(shot.width == 640 && shot.height == 480)
        #expect(shot.rgb(96, 96) == 0xFF0000 && shot.rgb(224, 96) == 0x00FF00)
        #expect(shot.rgb(96, 224) == 0x0000FF && shot.rgb(224, 224) == 0xFFFF00)
        #expect(shot.rgb(31, 31) == 0x20_2830 && shot.rgb(288, 288) == 0x20_2830)
        let part = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: region))))
        #expect(part.width == 256 && part.height == 256)
        #expect(part.rgb(0, 0) == 0xFF0000 && part.rgb(255, 0) == 0x00FF00 && part.rgb(0, 255) == 0x0000FF && part.rgb(255, 255) == 0xFFFF00)
        #expect(!c.log.contains("protocol error"))
    }

    /// The memfd backend is no dma-buf: export-dmabuf cancels with `permanent`; screencopy works.
    @Test func exportDmabufCancelsOnMemfdAndScreencopyCopies() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let client = try c.start("demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        _ = try c.screenshot { $0.rgb(96, 96) == 0xFF0000 }
        let export = try c.run("demo-client", ["--capture", "\(c.runtime.path)/x.png"], timeout: 30, tag: "export")
        #expect(export.status == 4, "\(export.stderr)")
        #expect(export.stderr.contains("capture cancelled: permanent"), "\(export.stderr)")

        let path = "\(c.runtime.path)/s.png"
        let copy = try c.run("demo-client", ["--capture", path, "--capture-method", "screencopy", "--with-damage"], timeout: 30, tag: "screencopy")
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.contains("capture: screencopy 640x480 XR24 modifier=0x0 dmabuf=no"), "\(copy.stdout)")
        #expect(copy.stdout.contains("damage: 0,0 640x480"), "the first copy_with_damage reports everything: \(copy.stdout)")
        let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        #expect(shot.rgb(96, 96) == 0xFF0000 && shot.rgb(224, 96) == 0x00FF00 && shot.rgb(96, 224) == 0x0000FF && shot.rgb(224, 224) == 0xFFFF00)
        #expect(c.isRunning)
    }
}
