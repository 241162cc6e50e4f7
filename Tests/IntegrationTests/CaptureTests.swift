import ClientKit
import Foundation
import Glibc
import SystemPackage
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

    /// One way into compositing: a screenshot composites what changed between vblanks, and the
    /// capture consumers still get that damage with the next frame. At 1 Hz the SIGUSR1
    /// screenshot right after the commit takes the damage before the vblank does; before, the
    /// next `copy_with_damage` then waited for damage that had already been drawn (forever, with
    /// nothing else changing).
    @Test func screenshotThenCopyWithDamageGetsTheDamageSinceThePreviousCopy() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240", "--refresh", "1"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: .seconds(30))
        let toplevel = Toplevel(context: context, title: "damage", appID: "test")
        try toplevel.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
        let buffers = try BufferSet(shm: context.shm, width: 64, height: 64, count: 2)
        func show(_ i: Int, _ colour: UInt32) throws -> Callback? {
            let b = buffers.buffers[i]
            for p in 0..<(64 * 64) { b.pixels[p] = colour }
            let cb = toplevel.present(b)
            try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "roundtrip")
            return cb
        }
        let first = try #require(try show(0, 0xFFFF_0000))
        try context.connection.wait(timeout: .seconds(30)) { first.isDone }.orThrow(waitingFor: "first frame")

        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let capturer = try OutputCapture(connection: connection, timeout: .seconds(30))
        let initial = try capturer.capture(.screencopy, withDamage: true, timeout: .seconds(30))
        #expect(initial.damage == [CaptureRect(x: 0, y: 0, width: 320, height: 240)], "\(initial.damage)")

        // Blue, then at once a screenshot: it composites the change.
        _ = try show(1, 0xFF00_00FF)
        let shot = try c.screenshot()
        #expect(shot.rgb(40, 40) == 0x0000FF, "the screenshot shows 0x\(String(shot.rgb(40, 40), radix: 16))")
        let started = Date()
        let next = try capturer.capture(.screencopy, withDamage: true, timeout: .seconds(10))
        let waited = Date().timeIntervalSince(started)
        print("copy_with_damage after a screenshot: \(next.damage) after \(String(format: "%.2f", waited)) s")
        #expect(next.damage.contains { $0.x <= 32 && $0.y <= 32 && $0.x + $0.width >= 96 && $0.y + $0.height >= 96 },
                "the window's change is not in the damage: \(next.damage)")
        #expect(next.image.rgb(x: 40, y: 40) == 0x0000FF)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate(timeout: 10)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// A consumer copying every frame into one buffer (wayvnc) gets only what changed since the
    /// frame that buffer holds: a mark scribbled outside the damage survives the next copy, the
    /// damaged window is new, the reported damage is the window's; a new buffer gets everything.
    @Test func aRepeatedScreencopyTargetGetsOnlyTheDamageSinceItsFrame() throws {
        let scene = try WindowScene()
        let (c, display) = (scene.compositor, scene.display)
        try scene.show(0xFFFF_0000)

        let stream = try ScreencopyStream(connection: try Connection(displayName: display), timeout: .seconds(30))
        func pixel(_ x: Int, _ y: Int) throws -> UInt32 {
            let p = try #require(stream.pixels), stride = try #require(stream.layout).stride
            return p.load(fromByteOffset: y * stride + x * 4, as: UInt32.self) & 0xFF_FFFF
        }
        guard case let .ready(_, first, _) = try stream.next(timeout: .seconds(30)) else { Issue.record("first copy failed"); return }
        #expect(first == [CaptureRect(x: 0, y: 0, width: 320, height: 240)], "\(first)")
        #expect(try pixel(40, 40) == 0xFF0000)
        let background = try pixel(300, 200)
        #expect(background != 0xFF0000)

        // Mark the whole buffer, change the window, copy again into the same buffer.
        let marked: UInt32 = 0x12_3456
        let memory = try #require(stream.pixels)
        for i in stride(from: 0, to: memory.count, by: 4) { memory.storeBytes(of: marked, toByteOffset: i, as: UInt32.self) }
        try scene.show(0xFF00_00FF)
        guard case let .ready(_, second, _) = try stream.next(timeout: .seconds(30)) else { Issue.record("second copy failed"); return }
        #expect(try pixel(40, 40) == 0x0000FF, "the damaged window was not copied")
        let outside = try pixel(300, 200)
        #expect(outside == marked, "outside the damage the buffer was written again: 0x\(String(outside, radix: 16))")
        #expect(!second.isEmpty && second.allSatisfy { $0.width < 320 || $0.height < 240 }, "damage reported: \(second)")
        #expect(stream.buffersMade == 1)

        // A new buffer knows no frame: it gets the whole output.
        let fresh = try ScreencopyStream(connection: try Connection(displayName: display), timeout: .seconds(30))
        guard case .ready = try fresh.next(timeout: .seconds(30)) else { Issue.record("fresh copy failed"); return }
        let p = try #require(fresh.pixels), freshStride = try #require(fresh.layout).stride
        #expect(p.load(fromByteOffset: 200 * freshStride + 300 * 4, as: UInt32.self) & 0xFF_FFFF == background)
        #expect(p.load(fromByteOffset: 40 * freshStride + 40 * 4, as: UInt32.self) & 0xFF_FFFF == 0x0000FF)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    /// A directory on a disk (not tmpfs) for a wf-recorder-like pool file, or nil.
    static let diskDirectory = ["/var/tmp", "/tmp", FileManager.default.currentDirectoryPath]
        .first { fileSystemType(atPath: $0) != 0x0102_1994 && fileSystemType(atPath: $0) != 0 }

    /// wf-recorder makes its screencopy pools from `mkstemp` files in /tmp, a disk on Debian 12.
    /// Under the default seal policy such a pool is a capture target only: the copies arrive
    /// (written by the pool's writer thread, damage only into a buffer that holds an earlier
    /// frame), and attaching one of its buffers to a surface gets wl_shm's invalid_fd on the
    /// wl_buffer (`SealPolicyMatrixTests`: demo-client --misbehave disk-file).
    @Test(.enabled(if: CaptureTests.diskDirectory != nil, "no disk file system here"))
    func aDiskFilePoolIsACaptureTargetUnderTheDefaultPolicy() throws {
        let scene = try WindowScene(["--width", "320", "--height", "240", "--verbose"])
        let (c, display) = (scene.compositor, scene.display)
        try scene.show(0xFFFF_0000)

        let directory = try #require(Self.diskDirectory)
        let baseline = ProcStat.fdCount(c.child.pid)
        var stream: ScreencopyStream! = try ScreencopyStream(connection: try Connection(displayName: display), timeout: .seconds(30)) { size in
            var template = Array("\(directory)/compositord-test-disk-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw Errno(rawValue: errno) }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            guard ftruncate(fd, off_t(size)) == 0 else { close(fd); throw Errno(rawValue: errno) }
            return AnonymousFile(adopting: FileDescriptor(rawValue: fd), size: size, strategy: .runtimeDirFile, name: nil)
        }
        func pixel(_ x: Int, _ y: Int) throws -> UInt32 {
            let p = try #require(stream.pixels), stride = try #require(stream.layout).stride
            return p.load(fromByteOffset: y * stride + x * 4, as: UInt32.self) & 0xFF_FFFF
        }
        guard case .ready = try stream.next(timeout: .seconds(30)) else {
            Issue.record("the copy into the disk file failed:\n\(c.log)")
            return
        }
        #expect(try pixel(40, 40) == 0xFF0000)
        let background = try pixel(300, 200)
        #expect(background == 0x20_2830)
        #expect(c.log.contains("class=disk-file"), "the pool was not judged a disk file:\n\(c.log)")

        // Mark the buffer, change the window, copy again: only the damage is written.
        let marked: UInt32 = 0x12_3456
        let memory = try #require(stream.pixels)
        for i in stride(from: 0, to: memory.count, by: 4) { memory.storeBytes(of: marked, toByteOffset: i, as: UInt32.self) }
        try scene.show(0xFF00_00FF)
        guard case let .ready(_, damage, _) = try stream.next(timeout: .seconds(30)) else { Issue.record("second copy failed"); return }
        #expect(try pixel(40, 40) == 0x0000FF, "the damaged window was not written")
        #expect(try pixel(300, 200) == marked, "outside the damage the file was written again")
        #expect(!damage.isEmpty && damage.allSatisfy { $0.width < 320 || $0.height < 240 }, "damage reported: \(damage)")
        #expect(!c.log.contains("protocol error") && !c.log.contains("pool refused"), "\(c.log)")

        // The consumer gone, its pool goes, and with it the writer's own descriptor.
        stream = nil
        let deadline = Date().addingTimeInterval(5)
        while ProcStat.fdCount(c.child.pid) != baseline, Date() < deadline { usleep(20_000) }
        #expect(ProcStat.fdCount(c.child.pid) == baseline, "fds: \(ProcStat.fdCount(c.child.pid)), baseline \(baseline)")
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

        // The standard protocol, ext-image-copy-capture with an output source, gives the same.
        let extPath = "\(c.runtime.path)/e.png"
        let ext = try c.run("demo-client", ["--capture", extPath, "--capture-method", "ext-image-copy-capture"], timeout: 30, tag: "ext")
        #expect(ext.status == 0, "\(ext.stderr)")
        #expect(ext.stdout.contains("capture: ext-image-copy-capture 640x480 XR24 modifier=0x0 dmabuf=no"), "\(ext.stdout)")
        let extShot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: extPath))))
        #expect(extShot.rgb(96, 96) == 0xFF0000 && extShot.rgb(224, 96) == 0x00FF00 && extShot.rgb(96, 224) == 0x0000FF
                && extShot.rgb(224, 224) == 0xFFFF00 && extShot.rgb(600, 400) == 0x20_2830)
        #expect(c.isRunning)
    }
}
