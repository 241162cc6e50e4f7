import ClientKit
import CWayland
import Foundation
import Testing

/// ClientKit in this process against a real compositord: what only a client library can observe.
@Suite struct ClientKitTests {
    let timeout = Duration.seconds(15)

    func connect(_ c: CompositorProcess) throws -> ClientContext {
        // An absolute socket path: this process's XDG_RUNTIME_DIR is not the compositor's.
        try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
    }

    @Test func surfaceV6KeepsTheDefaultPreferenceAndEntersTheOutput() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        #expect(context.compositorVersion == 6)
        _ = try context.registry.bind("wl_output", table: cw_wl_output_interface(), maxVersion: 4)
        let buffers = try BufferSet(shm: context.shm, width: 64, height: 64)
        let toplevel = Toplevel(context: context, title: "v6", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        // The preference is the protocol default (1, normal), so no event is sent (see WlCompositor).
        #expect(toplevel.surface.preferredBufferScale == nil)
        #expect(toplevel.surface.preferredBufferTransform == nil)
        #expect(toplevel.surface.outputCount == 0, "not on the output before it is mapped")
        let buffer = try #require(buffers.freeBuffer())
        DemoPattern.draw(into: buffer, frame: 0)
        let frame = try #require(toplevel.present(buffer))
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "frame")
        #expect(toplevel.surface.outputCount == 1, "wl_surface.enter once mapped")
    }

    @Test func bufferDestroyedWhileAttachedStaysOnScreen() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let buffers = try BufferSet(shm: context.shm, width: 256, height: 256)
        let toplevel = Toplevel(context: context, title: "destroy", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let buffer = buffers.buffers[0]
        DemoPattern.draw(into: buffer, frame: 0)
        let frame = try #require(toplevel.present(buffer))
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "first frame")
        buffer.destroy()
        // A commit without a new buffer damages everything again: the compositor re-reads the
        // destroyed buffer's pixels (its pool outlives the wl_buffer) and completes the frame.
        toplevel.surface.damageBuffer(x: 0, y: 0, width: 256, height: 256)
        let after = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        try context.connection.wait(timeout: timeout) { after.isDone }.orThrow(waitingFor: "frame after destroy")
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 64, 32 + 64) == 0xFF0000)
        #expect(shot.rgb(32 + 192, 32 + 192) == 0xFFFF00)
        #expect(c.isRunning)
        #expect(!c.log.contains("protocol error"))
    }

    @Test func frameCallbackTimestampsAreMillisecondsOfTheMonotonicClock() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let buffers = try BufferSet(shm: context.shm, width: 32, height: 32)
        let toplevel = Toplevel(context: context, title: "time", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        var stamps: [UInt32] = []
        for i in 0..<6 {
            let buffer = try #require(try buffers.waitForFreeBuffer(timeout: timeout))
            DemoPattern.draw(into: buffer, frame: i)
            let before = monotonicMs()
            let cb = try #require(toplevel.present(buffer))
            try context.connection.wait(timeout: timeout) { cb.isDone }.orThrow(waitingFor: "frame \(i)")
            let after = monotonicMs()
            // The frame time lies between commit and delivery (allowing the vblank it was paced to).
            #expect(cb.callbackData >= before &- 17 && cb.callbackData <= after, "frame \(i): \(cb.callbackData) not in [\(before), \(after)]")
            stamps.append(cb.callbackData)
        }
        // Paced at 60 Hz: successive frames are at least one refresh apart (16 ms, truncated).
        for (a, b) in zip(stamps, stamps.dropFirst()) { #expect(b &- a >= 16, "stamps \(stamps)") }
    }

    private func monotonicMs() -> UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt32(truncatingIfNeeded: ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000)
    }
}
