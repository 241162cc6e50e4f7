import Foundation
import PNG
import Testing

/// Runs only inside the test VM (VMOutputTests boots it with COMPOSITORD_IN_VM=1 and the backend
/// it expects in COMPOSITORD_VM_EXPECT_BACKEND): the output backend chain picks real DRM or
/// dma-buf memory, and a consumer takes a frame by fd whose pixels are demo-client's pattern.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"
                                 && ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] != nil))
struct OutputInVMTests {
    static let expected = ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] ?? ""

    @Test func backendAndExportedFramePixels() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let line = c.child.stdout.split(separator: "\n").first ?? ""
        #expect(line.hasPrefix("output: \(Self.expected) "), "\(line)")
        #expect(line.hasSuffix(" 640x480 XRGB8888"), "\(line)")

        let client = try c.start("demo-client", tag: "window")
        defer { client.signal(SIGKILL); client.wait(timeout: 10) }
        _ = try c.screenshot(timeout: 60) { $0.rgb(96, 96) == 0xFF0000 }

        // The project's consumer takes one frame by export-dmabuf: a real dma-buf.
        let png = "\(c.runtime.path)/capture.png"
        let r = try c.run("demo-client", ["--capture", png], timeout: 120, tag: "capture")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("capture: export-dmabuf 640x480 XR24"), "\(r.stdout)")
        #expect(r.stdout.contains("dmabuf=yes"), "\(r.stdout)")
        let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: png))))
        #expect(shot.rgb(96, 96) == 0xFF0000 && shot.rgb(224, 96) == 0x00FF00)
        #expect(shot.rgb(96, 224) == 0x0000FF && shot.rgb(224, 224) == 0xFFFF00)
        #expect(shot.rgb(31, 31) == 0x20_2830 && shot.rgb(288, 288) == 0x20_2830)

        // screencopy and grim read the same output.
        let sc = "\(c.runtime.path)/screencopy.png"
        let s = try c.run("demo-client", ["--capture", sc, "--capture-method", "screencopy"], timeout: 120, tag: "screencopy")
        #expect(s.status == 0, "\(s.stderr)")
        let copy = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: sc))))
        #expect(copy.rgb(96, 96) == 0xFF0000 && copy.rgb(224, 224) == 0xFFFF00)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }
}
