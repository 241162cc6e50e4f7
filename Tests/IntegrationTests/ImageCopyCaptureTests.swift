import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// ext-image-copy-capture-v1 with an output source (issue 19, item 3): the constraints, exact
/// pixels, damage (full first, then only what changed, into a buffer that holds the previous
/// frame), the wait for a change, stale buffers, and every protocol error the spec names.
@Suite struct ImageCopyCaptureTests {
    let timeout = Duration.seconds(30)

    @Test func anOutputIsCapturedWithExactPixelsAndDamage() throws {
        let scene = try WindowScene()
        try scene.show(0xFFFF_0000)
        let stream = try ImageCopyCaptureStream(connection: try Connection(displayName: scene.display), timeout: timeout)
        let constraints = stream.constraints
        #expect(constraints.width == 320 && constraints.height == 240, "\(constraints)")
        #expect(Set(constraints.shmFormats) == [0, 1], "ARGB8888 and XRGB8888: \(constraints)")
        #expect(constraints.dmabufFormats[DrmFormat.xrgb8888] == [0], "linear XR24 dma-bufs: \(constraints)")
        func pixel(_ x: Int, _ y: Int) throws -> UInt32 {
            try #require(stream.pixels).load(fromByteOffset: y * stream.stride + x * 4, as: UInt32.self) & 0xFF_FFFF
        }

        // The first frame: everything, at once, with full damage.
        guard case let .ready(transform, first, timestamp) = try stream.next(timeout: timeout) else {
            Issue.record("the first frame failed: \(scene.compositor.log)")
            return
        }
        #expect(transform == 0 && first == [CaptureRect(x: 0, y: 0, width: 320, height: 240)], "\(first)")
        #expect((timestamp?.seconds ?? 0) > 0, "no presentation_time")
        #expect(try pixel(40, 40) == 0xFF0000 && pixel(95, 95) == 0xFF0000)
        #expect(try pixel(300, 200) == 0x20_2830 && pixel(31, 31) == 0x20_2830)

        // Nothing changes: the next frame waits for a change.
        #expect(throws: ClientError.self) { try stream.next(timeout: .milliseconds(400)) }
        // That frame is given up: its destroy reaches compositord before anything changes (a
        // frame still alive would take the change, and its damage with it).
        try stream.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the frame's destroy")

        // The buffer marked, the window repainted: only the window comes, and only it is damage.
        let marked: UInt32 = 0x12_3456
        let memory = try #require(stream.pixels)
        for i in stride(from: 0, to: memory.count, by: 4) { memory.storeBytes(of: marked, toByteOffset: i, as: UInt32.self) }
        try scene.show(0xFF00_00FF)
        let secondOutcome: ImageCopyCaptureStream.Outcome
        do { secondOutcome = try stream.next(timeout: .seconds(10)) } catch {
            Issue.record("second frame: \(error)\n\(scene.compositor.log)")
            return
        }
        guard case let .ready(_, second, _) = secondOutcome else { Issue.record("second frame failed"); return }
        #expect(try pixel(40, 40) == 0x0000FF, "the damaged window was not copied")
        #expect(try pixel(300, 200) == marked, "outside the damage the buffer was written again")
        #expect(!second.isEmpty && second.allSatisfy { $0.x >= 32 && $0.y >= 32 && $0.x + $0.width <= 96 && $0.y + $0.height <= 96 },
                "damage: \(second)")

        // What the client says it scribbled on (damage_buffer) is written again too.
        memory.storeBytes(of: marked, toByteOffset: 200 * stream.stride + 300 * 4, as: UInt32.self)
        try scene.show(0xFF00_FF00)
        guard case .ready = try stream.next(damage: [CaptureRect(x: 296, y: 196, width: 8, height: 8)], timeout: timeout) else {
            Issue.record("third frame failed")
            return
        }
        #expect(try pixel(40, 40) == 0x00FF00 && pixel(300, 200) == 0x20_2830, "buffer damage not repaired")
        #expect(!scene.compositor.log.contains("protocol error"), "\(scene.compositor.log)")
    }

    /// A toplevel source (ext-foreign-toplevel-list's handle) captures the window on its own: the
    /// window another one covers on the output comes whole, at its own size; its changes come as
    /// damage; unmapped, its handle is closed and its session stopped.
    @Test func aToplevelIsCapturedOnItsOwn() throws {
        let scene = try WindowScene()
        try scene.show(0xFFFF_0000)  // "test" at (32, 32)
        let above = Toplevel(context: scene.context, title: "above", appID: "cover")  // at (64, 64), over it
        try above.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let green = try BufferSet<ShmBuffer>(shm: scene.context.shm, width: 64, height: 64, count: 1)
        for p in 0..<(64 * 64) { green.buffers[0].pixels[p] = 0xFF00_FF00 }
        let cb = try #require(above.present(green.buffers[0]))
        try scene.context.connection.wait(timeout: timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")

        let stream = try ImageCopyCaptureStream(connection: try Connection(displayName: scene.display), toplevelAppID: "test", timeout: timeout)
        let list = try #require(stream.toplevels)
        #expect(list.toplevels.map(\.appID) == ["test", "cover"] && list.toplevels.map(\.title) == ["ext-capture", "above"])
        #expect(list.toplevels.allSatisfy { $0.done && $0.identifier.count == 32 } && Set(list.toplevels.map(\.identifier)).count == 2)
        #expect(stream.constraints.width == 64 && stream.constraints.height == 64, "\(stream.constraints)")
        func pixel(_ x: Int, _ y: Int) throws -> UInt32 {
            try #require(stream.pixels).load(fromByteOffset: y * stream.stride + x * 4, as: UInt32.self) & 0xFF_FFFF
        }
        guard case let .ready(_, first, _) = try stream.next(timeout: timeout) else { Issue.record("the first frame failed"); return }
        #expect(first == [CaptureRect(x: 0, y: 0, width: 64, height: 64)], "\(first)")
        // (48, 48) in the window is (80, 80) on the output, where the other window lies.
        #expect(try pixel(0, 0) == 0xFF0000 && pixel(48, 48) == 0xFF0000 && pixel(63, 63) == 0xFF0000)

        try scene.show(0xFF00_00FF)
        guard case .ready = try stream.next(timeout: timeout) else { Issue.record("the second frame failed"); return }
        #expect(try pixel(10, 10) == 0x0000FF && pixel(48, 48) == 0x0000FF)

        // Unmapped: closed, stopped, and a frame fails with `stopped`.
        scene.toplevel.surface.attach(nil)
        scene.toplevel.surface.commit()
        try scene.context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the unmap")
        try stream.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "closed and stopped")
        #expect(list.toplevels[0].closed && !list.toplevels[1].closed)
        #expect(stream.stopped)
        #expect(try stream.next(timeout: timeout) == .failed(reason: 2))
        #expect(!scene.compositor.log.contains("protocol error"), "\(scene.compositor.log)")
    }

    /// A buffer that does not match the constraints is not a protocol error: the frame fails with
    /// buffer_constraints and the session goes on.
    @Test func aStaleBufferFailsWithBufferConstraints() throws {
        let scene = try WindowScene()
        try scene.show(0xFFFF_0000)
        let stream = try ImageCopyCaptureStream(connection: try Connection(displayName: scene.display), timeout: timeout)
        #expect(try stream.next(timeout: timeout, bufferSize: (160, 120)) == .failed(reason: 1))
        guard case .ready = try stream.next(timeout: timeout) else { Issue.record("the right buffer failed"); return }
        #expect(scene.compositor.isRunning)
    }

    /// `--capture deny` hides both globals: the stream says which is missing.
    @Test func captureDenyHidesIt() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240", "--capture", "deny"])
        #expect(throws: ClientError.self) {
            _ = try ImageCopyCaptureStream(connection: try Connection(displayName: "\(c.runtime.path)/\(c.socketName)"), timeout: timeout)
        }
    }

    /// Every error the protocol names, on the right object with the right code; compositord
    /// carries on. (The cursor session's duplicate_session needs a wl_pointer, which compositord's
    /// seat gets with issue 20's pointer: until then get_pointer is wl_seat's missing_capability.)
    @Test(arguments: ["invalid_option", "duplicate_frame", "no_buffer", "invalid_buffer_damage", "already_captured"])
    func protocolErrors(_ error: String) throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let sources = try context.registry.bind("ext_output_image_capture_source_manager_v1",
                                                table: cw_ext_output_image_capture_source_manager_v1_interface(), maxVersion: 1)
        let manager = try context.registry.bind("ext_image_copy_capture_manager_v1", table: cw_ext_image_copy_capture_manager_v1_interface(), maxVersion: 1)
        let output = try context.registry.bind("wl_output", table: cw_wl_output_interface(), maxVersion: 4)
        let source = ext_output_image_capture_source_manager_v1_create_source(sources.proxy, output.proxy)!
        let expected: (interface: String, code: UInt32)
        switch error {
        case "invalid_option":
            _ = ext_image_copy_capture_manager_v1_create_session(manager.proxy, source, 2)
            expected = ("ext_image_copy_capture_manager_v1", 1)
        default:
            let session = ext_image_copy_capture_manager_v1_create_session(manager.proxy, source, 0)!
            let frame = ext_image_copy_capture_session_v1_create_frame(session)!
            switch error {
            case "duplicate_frame":
                _ = ext_image_copy_capture_session_v1_create_frame(session)
                expected = ("ext_image_copy_capture_session_v1", 1)
            case "no_buffer":
                ext_image_copy_capture_frame_v1_capture(frame)
                expected = ("ext_image_copy_capture_frame_v1", 1)
            case "invalid_buffer_damage":
                ext_image_copy_capture_frame_v1_damage_buffer(frame, -1, 0, 10, 10)
                expected = ("ext_image_copy_capture_frame_v1", 2)
            default:  // already_captured
                let shm = try context.registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1)
                let fd = cw_memfd_create("ext-capture-test", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
                try #require(fd >= 0 && ftruncate(fd, 320 * 240 * 4) == 0)
                let pool = wl_shm_create_pool(shm.proxy, fd, 320 * 240 * 4)!
                close(fd)
                let buffer = wl_shm_pool_create_buffer(pool, 0, 320, 240, 1280, WL_SHM_FORMAT_XRGB8888.rawValue)!
                ext_image_copy_capture_frame_v1_attach_buffer(frame, buffer)
                ext_image_copy_capture_frame_v1_capture(frame)
                ext_image_copy_capture_frame_v1_capture(frame)
                expected = ("ext_image_copy_capture_frame_v1", 3)
            }
        }
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("\(error): no protocol error")
        } catch let e as ProtocolError {
            #expect(e.interface == expected.interface && e.code == expected.code, "\(error): \(e)")
        }
        #expect(c.isRunning)
        #expect(c.log.contains("protocol error"), "\(c.log)")
    }
}
