import ClientKit
import CWayland
import Foundation
import Testing

/// wl_buffer.release: a buffer replaced by a commit is released with the next frame's events
/// (one batch per frame), never while it is current, and a client that re-attaches a buffer
/// before its release went out does not get it released under its feet.
@Suite struct BufferReleaseTests {
    let timeout = Duration.seconds(15)

    func setUp() throws -> (CompositorProcess, ClientContext, Toplevel, [ShmBuffer]) {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let toplevel = Toplevel(context: context, title: "release", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let set = try BufferSet(shm: context.shm, width: 40, height: 40, count: 3)
        for (i, b) in set.buffers.enumerated() {
            for p in 0..<(40 * 40) { b.pixels[p] = 0xFF00_0000 | [0xFF0000, 0x00FF00, 0x0000FF][i] }
        }
        return (c, context, toplevel, set.buffers)
    }

    /// Attach, damage and commit without waiting; returns the frame callback.
    func show(_ toplevel: Toplevel, _ buffer: ShmBuffer) -> Callback {
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: 40, height: 40)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        return frame
    }

    @Test func replacedBufferIsReleasedWithTheFrameAndTheCurrentOneNever() throws {
        let (c, context, toplevel, b) = try setUp()
        let first = show(toplevel, b[0])
        try context.connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "first frame")
        #expect(b[0].releaseCount == 0, "the buffer on screen was released")

        let second = show(toplevel, b[1])
        try context.connection.wait(timeout: timeout) { second.isDone }.orThrow(waitingFor: "second frame")
        #expect(b[0].releaseCount == 1, "the replaced buffer was not released by the frame that replaced it")
        #expect(b[1].releaseCount == 0)

        // Re-attached before the frame: red replaced by green, then green by red again, in one
        // batch. Red is current again: releasing it now would let the client draw into the
        // buffer on screen. Green was replaced and is released; blue never was attached.
        _ = show(toplevel, b[0])
        _ = show(toplevel, b[1])
        let third = show(toplevel, b[0])
        try context.connection.wait(timeout: timeout) { third.isDone }.orThrow(waitingFor: "third frame")
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(b[0].releaseCount == 1, "the current buffer was released")
        #expect(b[1].releaseCount == 1)
        #expect(b[2].releaseCount == 0)
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 20, 32 + 20) == 0xFF0000)
        _ = toplevel
    }
}
