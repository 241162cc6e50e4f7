import ClientKit
import CWayland
import Foundation
import Testing

/// xdg_surface's configure cycle around commits without a buffer: only a mapped surface is
/// unmapped (and must start over with an initial commit) by one.
@Suite struct XdgSurfaceTests {
    let timeout = Duration.seconds(15)
    static let green: UInt32 = 0x00FF00

    func setUp() throws -> (CompositorProcess, ClientContext, ShmBuffer) {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let set = try BufferSet(shm: context.shm, width: 64, height: 64, count: 1)
        for p in 0..<(64 * 64) { set.buffers[0].pixels[p] = 0xFF00_0000 | Self.green }
        return (c, context, set.buffers[0])
    }

    /// Issue 15 item 7: initial commit, configure acked, a commit without a buffer (no attach,
    /// or attach(nil)), then the first buffer. The surface was never mapped, so the empty commit
    /// unmapped nothing and the acked configure still holds: no unconfigured_buffer.
    @Test(arguments: [false, true]) func emptyCommitBeforeTheFirstBufferIsNoUnmap(attachNull: Bool) throws {
        let (c, context, buffer) = try setUp()
        let toplevel = Toplevel(context: context, title: "late buffer", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        if attachNull { toplevel.surface.attach(nil) }
        toplevel.surface.commit()
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(toplevel.configureCount == 1, "no new configure cycle was asked for")
        let frame = try #require(toplevel.present(buffer))
        do {
            try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "the first frame")
        } catch let error as ProtocolError {
            Issue.record("the first buffer after an empty commit was refused: \(error)")
            return
        }
        let shot = try c.screenshot(until: { $0.rgb(32 + 32, 32 + 32) == Self.green })
        #expect(shot.rgb(32, 32) == Self.green && shot.rgb(32 + 63, 32 + 63) == Self.green)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    /// A mapped toplevel is unmapped by a null buffer; its next buffer needs a new initial
    /// commit and acked configure first (xdg_surface spec), and an empty commit after that ack
    /// (the surface is unmapped, not mapped) does not undo it.
    @Test func nullBufferUnmapsAMappedToplevelUntilItIsConfiguredAgain() throws {
        let (c, context, buffer) = try setUp()
        let toplevel = Toplevel(context: context, title: "remap", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let first = try #require(toplevel.present(buffer))
        try context.connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
        var shot = try c.screenshot(until: { $0.rgb(32 + 32, 32 + 32) == Self.green })
        #expect(shot.rgb(32 + 32, 32 + 32) == Self.green)

        toplevel.surface.attach(nil)
        toplevel.surface.commit()
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        shot = try c.screenshot(until: { $0.rgb(32 + 32, 32 + 32) == DemoClientTests.background })
        #expect(shot.rgb(32 + 32, 32 + 32) == DemoClientTests.background, "not unmapped")

        // The initial commit again, its configure acked, an empty commit, then the buffer.
        let acked = toplevel.configureCount
        toplevel.surface.commit()
        try context.connection.wait(timeout: timeout) { toplevel.configureCount > acked }.orThrow(waitingFor: "a new configure")
        toplevel.surface.commit()
        let again = try #require(toplevel.present(buffer))
        try context.connection.wait(timeout: timeout) { again.isDone }.orThrow(waitingFor: "the frame after remapping")
        shot = try c.screenshot(until: { $0.rgb(32 + 32, 32 + 32) == Self.green })
        #expect(shot.rgb(32 + 32, 32 + 32) == Self.green, "not mapped again")
        #expect(!c.log.contains("protocol error"), "\(c.log)")

        // Unmapped again, and a buffer without the new initial commit: unconfigured_buffer.
        toplevel.surface.attach(nil)
        toplevel.surface.commit()
        toplevel.present(buffer, requestFrame: false)
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("a buffer after unmapping, without a new configure, was accepted")
        } catch let error as ProtocolError {
            #expect(error.interface == "xdg_surface" && error.code == XDG_SURFACE_ERROR_UNCONFIGURED_BUFFER.rawValue, "\(error)")
        }
    }
}
