import ClientKit
import Misbehave
import Foundation
import Testing

/// Runs only inside the test VM (scripts/vm/run sets nothing; VMDmabufTests passes
/// COMPOSITORD_IN_VM=1), where /dev/udmabuf, /dev/dma_heap/system and a vgem card exist.
/// The host-side VMDmabufTests boots the VM and runs this suite there, with the same binaries.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"))
struct DmabufInVMTests {
    static let background: UInt32 = 0x20_2830

    /// demo-client draws into dma-bufs from each exporter; the screenshot shows its pattern at
    /// the documented place with exact pixel values.
    @Test(arguments: ["udmabuf", "dumb", "heap"])
    func dmabufClientRendersItsPattern(source: String) throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let frames = try c.run("demo-client", ["--buffer", "dmabuf", "--dmabuf-source", source, "--frames", "10"],
                               timeout: 120, tag: "\(source)-frames")
        #expect(frames.status == 0, "\(source): \(frames.stderr)")
        #expect(frames.stdout.contains("dmabuf-source: \(source)"), "\(frames.stdout)")
        #expect(frames.stdout.contains("frames: 10"), "\(frames.stdout)")

        let client = try c.start("demo-client", ["--buffer", "dmabuf", "--dmabuf-source", source], tag: "\(source)-window")
        defer { client.signal(SIGKILL); client.wait(timeout: 10) }
        let (l, t, s) = (32, 32, 256)
        let shot = try c.screenshot(timeout: 60) { $0.rgb(l + s / 4, t + s / 4) == 0xFF0000 }
        #expect(shot.rgb(l + s / 4, t + s / 4) == 0xFF0000, "\(source)")
        #expect(shot.rgb(l + 3 * s / 4, t + s / 4) == 0x00FF00, "\(source)")
        #expect(shot.rgb(l + s / 4, t + 3 * s / 4) == 0x0000FF, "\(source)")
        #expect(shot.rgb(l + 3 * s / 4, t + 3 * s / 4) == 0xFFFF00, "\(source)")
        #expect(shot.rgb(l, t) == 0xFF0000 && shot.rgb(l + s - 1, t + s - 1) == 0xFFFF00, "\(source)")
        #expect(shot.rgb(l - 1, t - 1) == Self.background && shot.rgb(l + s, t + s) == Self.background, "\(source)")
        client.signal(SIGINT)
        #expect(client.wait(timeout: 30).status == 0)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    /// `create` (not create_immed) answers `created` with a working wl_buffer for a real dma-buf,
    /// and a v4 client sees the main device (the vgem card) in the feedback.
    @Test func asyncCreateAnswersCreatedAndFeedbackNamesTheDevice() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: .seconds(60))
        let dmabuf = try context.linuxDmabuf(timeout: .seconds(60))
        #expect(dmabuf.version == 4)
        let feedback = try #require(dmabuf.defaultFeedback)
        #expect((feedback.mainDevice ?? 0) != 0, "main_device names /dev/dri/* inside the VM")
        #expect(feedback.tranches.first?.formats.count == 13)
        let allocation = try DmaBuf(width: 64, height: 64, strategy: .udmabuf)
        let buffer = try DmaBuffer(linuxDmabuf: dmabuf, dmabuf: allocation, creation: .async, timeout: .seconds(60))
        let toplevel = Toplevel(context: context, title: "async", appID: "test")
        try toplevel.waitForConfigure(timeout: .seconds(60)).orThrow(waitingFor: "configure")
        try DemoPattern.draw(into: buffer, frame: 0)
        let frame = try #require(toplevel.present(buffer))
        try context.connection.wait(timeout: .seconds(60)) { frame.isDone }.orThrow(waitingFor: "frame")
        let shot = try c.screenshot(timeout: 60) { $0.rgb(32 + 16, 32 + 16) == 0xFF0000 }
        #expect(shot.rgb(32 + 16, 32 + 16) == 0xFF0000)
        #expect(shot.rgb(32 + 48, 32 + 48) == 0xFFFF00)
    }

    /// --max-client-memory counts dma-bufs too: under a 20 KiB cap a 64x64 XRGB8888 dma-buf
    /// (16 KiB) imports and a second one fails before it is mapped: `failed` for `create`,
    /// invalid_wl_buffer with the reason for `create_immed`.
    @Test func dmabufsPastTheClientMemoryCapAreRefusedAtImport() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480", "--max-client-memory", "20K"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: .seconds(60))
        let dmabuf = try context.linuxDmabuf(timeout: .seconds(60))
        let first = try DmaBuffer(linuxDmabuf: dmabuf, dmabuf: DmaBuf(width: 64, height: 64, strategy: .udmabuf), creation: .async, timeout: .seconds(60))
        #expect(throws: DmaBufferError.self) {
            _ = try DmaBuffer(linuxDmabuf: dmabuf, dmabuf: DmaBuf(width: 64, height: 64, strategy: .udmabuf), creation: .async, timeout: .seconds(60))
        }
        withExtendedLifetime(first) {}
        #expect(c.log.contains("rule=client-memory-limit"), "\(c.log.suffix(2000))")
        do {
            _ = try DmaBuffer(linuxDmabuf: dmabuf, dmabuf: DmaBuf(width: 64, height: 64, strategy: .udmabuf), creation: .immediate, timeout: .seconds(60))
            try context.connection.roundtrip(timeout: .seconds(60)).orThrow(waitingFor: "the import")
            Issue.record("the third dma-buf was accepted")
        } catch let error as ProtocolError {
            #expect("\(error)".contains("maps 16384 bytes; this dma-buf of 16384 bytes would pass --max-client-memory 20480 (20 KiB)"), "\(error)")
        }
        #expect(c.isRunning)
    }

    /// The hostile dma-buf modes get their errors; compositord and an observer survive.
    @Test func hostileDmabufModesLeaveOthersRendering() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let observer = try c.start("demo-client", ["--buffer", "dmabuf"], tag: "observer")
        defer { observer.signal(SIGKILL); observer.wait(timeout: 10) }
        _ = try c.screenshot(timeout: 60) { $0.rgb(96, 96) == 0xFF0000 }
        for mode in Misbehavior.allCases where mode.rawValue.hasPrefix("dmabuf-") {
            let r = try c.run("demo-client", ["--misbehave", mode.rawValue], timeout: 120, tag: mode.rawValue)
            switch mode.expected(policy: .enforce) {
            case let .error(interface, code):
                #expect(r.status == 3, "\(mode): \(r.stderr)")
                #expect(r.stderr.contains("protocol error: \(interface)@") && r.stderr.contains(" code \(code): "), "\(mode): \(r.stderr)")
            case .renders:
                #expect(r.status == 0, "\(mode): \(r.stderr)")
            case .disconnected:
                Issue.record("no dma-buf mode expects a disconnect (\(mode))")
            }
            #expect(c.isRunning, "compositord died on \(mode)")
            #expect(observer.isRunning, "observer died during \(mode)")
        }
        let a = try c.screenshot()
        let b = try c.screenshot(timeout: 30) { shot in (32..<288).contains { shot.rgb($0, 160) != a.rgb($0, 160) } }
        #expect((32..<288).contains { a.rgb($0, 160) != b.rgb($0, 160) }, "observer kept animating")
        observer.signal(SIGINT)
        #expect(observer.wait(timeout: 30).status == 0)
    }
}
