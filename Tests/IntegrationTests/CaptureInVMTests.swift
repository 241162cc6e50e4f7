import ClientKit
import Foundation
import PNG
import Testing

/// Runs only inside the test VM, on the drm-dumb output backend (VMOutputTests boots it with
/// COMPOSITORD_IN_VM=1 and COMPOSITORD_VM_EXPECT_BACKEND=drm-dumb): ClientKit's capture consumers,
/// in this process, against the real compositord.
/// - screencopy v3 copies into a client dma-buf (the `linux_dmabuf` offer, `create_immed`);
/// - an exported frame held (its `zwlr_export_dmabuf_frame_v1` not destroyed) is never rendered
///   into again while the compositor composites new frames.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"
                                 && ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] == "drm-dumb"))
struct CaptureInVMTests {
    static let timeout = Duration.seconds(60)

    /// Starts compositord at 640x480 with one demo-client window (256x256 at 32,32) and waits
    /// until its pattern is on screen.
    static func compositorWithWindow() throws -> (CompositorProcess, Child) {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let line = c.child.stdout.split(separator: "\n").first ?? ""
        #expect(line.hasPrefix("output: drm-dumb "), "\(line)")
        let client = try c.start("demo-client", tag: "window")
        _ = try c.screenshot(timeout: 60) { $0.rgb(96, 96) == 0xFF0000 && $0.rgb(224, 224) == 0xFFFF00 }
        return (c, client)
    }

    static func socketPath(_ c: CompositorProcess) -> String { "\(c.runtime.path)/\(c.socketName)" }

    /// The demo pattern's quadrants at the window's (32,32) origin, and the background around it.
    static func expectDemoPattern(_ image: CapturedImage, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(image.width == 640 && image.height == 480, "\(what): \(image.width)x\(image.height)", sourceLocation: sourceLocation)
        guard image.width == 640 && image.height == 480 else { return }
        let hex = { (v: UInt32) in "0x" + String(v, radix: 16) }
        for (x, y, rgb) in [(96, 96, 0xFF0000), (224, 96, 0x00FF00), (96, 224, 0x0000FF), (224, 224, 0xFFFF00),
                            (31, 31, 0x20_2830)] as [(Int, Int, UInt32)] {
            #expect(image.rgb(x: x, y: y) == rgb, "\(what) at (\(x),\(y)): \(hex(image.rgb(x: x, y: y))), expected \(hex(rgb))",
                    sourceLocation: sourceLocation)
        }
    }

    /// Rows 128..<192 (the window's bar band, window rows 96..<160), columns 32..<288.
    static func band(_ image: CapturedImage) -> [UInt32] {
        (128..<192).flatMap { y in (32..<288).map { x in image.pixel(x: x, y: y) } }
    }

    @Test func screencopyIntoDmabuf() throws {
        let (c, client) = try Self.compositorWithWindow()
        defer { client.signal(SIGKILL); _ = client.wait(timeout: 10) }

        let connection = try Connection(displayName: Self.socketPath(c))
        let capturer = try OutputCapture(connection: connection, timeout: Self.timeout)
        #expect(capturer.screencopyVersion == 3)
        let frame = try capturer.capture(.screencopy, bufferKind: .dmabuf, timeout: Self.timeout)
        #expect(frame.isDmabuf)
        #expect(frame.dmabufStrategy != nil)
        #expect(frame.summary == "screencopy 640x480 XR24 modifier=0x0 dmabuf=yes", "\(frame.summary)")
        #expect(frame.dmabufOffers.contains(.init(format: DrmFormat.xrgb8888, width: 640, height: 480)), "\(frame.dmabufOffers)")
        Self.expectDemoPattern(frame.image, "screencopy into a \(frame.dmabufStrategy.map { "\($0)" } ?? "?") dma-buf")

        // The same, with copy_with_damage: the first copy of a frame object is fully damaged.
        let damaged = try capturer.capture(.screencopy, withDamage: true, bufferKind: .dmabuf, timeout: Self.timeout)
        #expect(damaged.isDmabuf && !damaged.damage.isEmpty, "\(damaged.damage)")
        Self.expectDemoPattern(damaged.image, "screencopy with damage into a dma-buf")

        // demo-client's --capture-buffer dmabuf says so.
        let png = "\(c.runtime.path)/screencopy-dmabuf.png"
        let r = try c.run("demo-client", ["--capture", png, "--capture-method", "screencopy", "--capture-buffer", "dmabuf"],
                          timeout: 120, tag: "capture")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("capture: screencopy 640x480 XR24 modifier=0x0 dmabuf=yes -> \(png)"), "\(r.stdout)")
        if r.status == 0 {
            let shot = try CapturedImage(pngData: [UInt8](try #require(FileManager.default.contents(atPath: png))))
            Self.expectDemoPattern(shot, "demo-client --capture-buffer dmabuf")
        }
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    /// Two outputs, each with its own drm-dumb swapchain: export-dmabuf and screencopy into a
    /// dma-buf of each output give that output's buffer, at its size, with its window.
    @Test func exportDmabufAndScreencopyOfEachOutput() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "200x100@30"])
        let lines = c.child.stdout.split(separator: "\n").filter { $0.hasPrefix("output: ") }
        #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("output: drm-dumb ") }, "\(lines)")
        let display = Self.socketPath(c)
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let windows = [try MultiOutputTests.Window(context, "one", colour: 0xFFFF_0000, fullscreenOn: outputs[0]),
                       try MultiOutputTests.Window(context, "two", colour: 0xFF00_FF00, fullscreenOn: outputs[1])]
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        for (i, (size, rgb)) in [((320, 240), UInt32(0xFF0000)), ((200, 100), UInt32(0x00FF00))].enumerated() {
            let exported = try capturer.capture(.exportDmabuf, output: capturer.outputs[i], timeout: Self.timeout)
            #expect(exported.isDmabuf && exported.width == size.0 && exported.height == size.1, "\(exported.summary)")
            #expect(exported.image.rgb(x: 0, y: 0) == rgb && exported.image.rgb(x: size.0 - 1, y: size.1 - 1) == rgb, "output \(i + 1)")
            let copied = try capturer.capture(.screencopy, output: capturer.outputs[i], bufferKind: .dmabuf, timeout: Self.timeout)
            #expect(copied.isDmabuf && copied.width == size.0 && copied.height == size.1, "\(copied.summary)")
            #expect(copied.image.rgb(x: size.0 / 2, y: size.1 / 2) == rgb, "output \(i + 1)")
        }
        _ = windows
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    @Test func heldExportedFrameIsNeverOverwritten() throws {
        let (c, client) = try Self.compositorWithWindow()
        defer { client.signal(SIGKILL); _ = client.wait(timeout: 10) }

        let connection = try Connection(displayName: Self.socketPath(c))
        let capturer = try OutputCapture(connection: connection, timeout: Self.timeout)
        let held = try capturer.captureHeld(timeout: Self.timeout)
        defer { held.release() }
        #expect(held.isHeld)
        #expect(held.frame.isDmabuf, "\(held.frame.objects)")
        #expect(held.frame.summary.hasPrefix("export-dmabuf 640x480 XR24"), "\(held.frame.summary)")
        Self.expectDemoPattern(held.frame.image, "held frame")
        let heldBand = Self.band(held.frame.image)

        // Let the compositor composite new frames (demo-client animates its bar; a second window
        // appears half-way), watching them with screencopy into wl_shm, and re-read the held
        // buffer after each one.
        var second: Child?
        defer { second?.signal(SIGKILL); _ = second?.wait(timeout: 10) }
        var newFrames = 0
        var previous = heldBand
        var differentFromHeld = 0
        let deadline = Date().addingTimeInterval(120)
        while newFrames < 12 && Date() < deadline {
            let now = try capturer.capture(.screencopy, timeout: Self.timeout)
            let band = Self.band(now.image)
            if band != previous {
                newFrames += 1
                previous = band
            }
            if band != heldBand { differentFromHeld += 1 }
            if newFrames == 5 && second == nil {
                second = try c.start("demo-client", ["--width", "128", "--height", "96"], tag: "second")
            }
            let bytes = try held.rereadBytes()
            #expect(bytes == held.bytes, "the held buffer changed after \(newFrames) new frames")
            if bytes != held.bytes { break }
        }
        #expect(newFrames >= 10, "only \(newFrames) new frames were composited in 120 s")
        #expect(differentFromHeld >= 10)

        // An export that is not held meanwhile comes from another buffer, with newer content.
        let other = try capturer.capture(.exportDmabuf, timeout: Self.timeout)
        #expect(Self.band(other.image) != heldBand, "a fresh export shows the held frame's bar")

        // After all that, the held frame reads exactly as it did at first.
        #expect(try held.rereadBytes() == held.bytes)
        #expect(try held.reread() == held.frame.image)

        held.release()
        #expect(!held.isHeld)
        // Released: the compositor goes on, and can export again.
        try connection.roundtrip(timeout: Self.timeout).orThrow(waitingFor: "the release")
        let after = try capturer.capture(.exportDmabuf, timeout: Self.timeout)
        #expect(after.width == 640 && after.height == 480)
        #expect(c.isRunning)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }
}
