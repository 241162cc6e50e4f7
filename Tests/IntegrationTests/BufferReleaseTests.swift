import ClientKit
import CWayland
import Foundation
import Testing

/// wl_buffer.release: a buffer replaced before any frame latched it is released at the replacing
/// commit (as sway does); one a frame latched is released with the next frame's events (one
/// batch per frame); never while it is current, and a client that re-attaches a buffer before
/// its release went out does not get it released under its feet.
@Suite struct BufferReleaseTests {
    let timeout = Duration.seconds(15)
    static let modes = ["on-demand", "every-frame"]
    static let colours: [UInt32] = [0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF]

    func setUp(_ arguments: [String] = [], count: Int = 3) throws -> (CompositorProcess, ClientContext, Toplevel, [ShmBuffer]) {
        let c = try CompositorProcess(["--width", "320", "--height", "240"] + arguments)
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let toplevel = Toplevel(context: context, title: "release", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let set = try BufferSet(shm: context.shm, width: 40, height: 40, count: count)
        for (i, b) in set.buffers.enumerated() {
            for p in 0..<(40 * 40) { b.pixels[p] = 0xFF00_0000 | Self.colours[i] }
        }
        return (c, context, toplevel, set.buffers)
    }

    /// A 1 Hz output: a second between vblanks, so a burst of requests and a roundtrip that
    /// start right after one are done long before the next.
    func slow(_ mode: String) -> [String] { ["--refresh", "1", "--composite", mode] }

    /// Attach, damage and commit without waiting; returns the frame callback if asked for.
    @discardableResult
    func show(_ toplevel: Toplevel, _ buffer: ShmBuffer, frame: Bool = true) -> Callback? {
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: 40, height: 40)
        let callback = frame ? toplevel.surface.requestFrame() : nil
        toplevel.surface.commit()
        return callback
    }

    /// Waits for a frame callback of `surface` (a surface without a buffer: it changes nothing
    /// else), so the next vblank is a whole refresh period away.
    func waitForVblank(_ surface: Surface, _ context: ClientContext) throws {
        let frame = surface.requestFrame()
        surface.commit()
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "a vblank")
    }

    @Test func replacedBufferIsReleasedWithTheFrameAndTheCurrentOneNever() throws {
        let (c, context, toplevel, b) = try setUp()
        let first = show(toplevel, b[0])!
        try context.connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "first frame")
        #expect(b[0].releaseCount == 0, "the buffer on screen was released")

        let second = show(toplevel, b[1])!
        try context.connection.wait(timeout: timeout) { second.isDone }.orThrow(waitingFor: "second frame")
        #expect(b[0].releaseCount == 1, "the replaced buffer was not released by the frame that replaced it")
        #expect(b[1].releaseCount == 0)

        // Re-attached before the frame: green (latched) replaced by red, then red by green again,
        // in one batch. Green is current again: its release waiting for the frame must not go
        // out, or the client would draw into the buffer on screen. Red, replaced before any
        // frame read it, is released at that commit; blue never was attached.
        _ = show(toplevel, b[0])
        let third = show(toplevel, b[1])!
        try context.connection.wait(timeout: timeout) { third.isDone }.orThrow(waitingFor: "third frame")
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(b[0].releaseCount == 2)
        #expect(b[1].releaseCount == 0, "the current buffer was released")
        #expect(b[2].releaseCount == 0)
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 20, 32 + 20) == 0x00FF00)
        _ = toplevel
    }

    /// Issue 15 item 6: a client swapping without frame callbacks (glmark2-es2-wayland on Mesa's
    /// software EGL) commits several buffers per vblank and must get each replaced one back at
    /// once, or it runs out of buffers. Their presentation feedback is `discarded`.
    @Test(arguments: modes) func buffersReplacedBeforeAnyFrameAreReleasedAtTheReplacingCommit(mode: String) throws {
        let n = 6
        let (c, context, toplevel, b) = try setUp(slow(mode), count: n)
        let presentation = try Presentation(context: context, timeout: timeout)
        let clock = Surface(context: context)  // no role, no buffer: its frame callbacks tell vblanks
        try waitForVblank(clock, context)

        var feedbacks: [PresentationFeedback] = []
        for buffer in b {
            feedbacks.append(presentation.feedback(for: toplevel.surface))
            show(toplevel, buffer, frame: false)
        }
        let vblank = clock.requestFrame()
        clock.commit()
        try context.connection.flush()
        // No request after the burst: the releases come on their own, long before the vblank.
        let replaced = b.dropLast()
        try context.connection.wait(timeout: .milliseconds(500)) { replaced.allSatisfy { $0.releaseCount == 1 } }
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        try #require(!vblank.isDone, "a vblank came during the burst: the test needs it to take under a second")
        #expect(replaced.map(\.releaseCount) == Array(repeating: 1, count: n - 1),
                "\(n) buffers committed back to back: the \(n - 1) replaced ones must be released before any vblank")
        #expect(b[n - 1].releaseCount == 0, "the current buffer was released")
        #expect(feedbacks.dropLast().map(\.outcome) == Array(repeating: .discarded, count: n - 1))
        #expect(feedbacks[n - 1].outcome == nil)

        // The vblank presents the last content and releases nothing more.
        try context.connection.wait(timeout: timeout) { vblank.isDone }.orThrow(waitingFor: "the vblank")
        try context.connection.wait(timeout: timeout) { feedbacks[n - 1].outcome != nil }.orThrow(waitingFor: "feedback")
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(feedbacks[n - 1].presented != nil, "\(String(describing: feedbacks[n - 1].outcome))")
        #expect(b.map(\.releaseCount) == Array(repeating: 1, count: n - 1) + [0])
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 20, 32 + 20) == Self.colours[n - 1])
        #expect(!c.log.contains("protocol error"))
    }

    /// The common case keeps its single batch: a client pacing itself by frame callbacks
    /// replaces the buffer a frame latched, and gets that release with the next frame's done.
    @Test(arguments: modes) func pacedClientGetsEachReleaseWithTheNextFrame(mode: String) throws {
        let (c, context, toplevel, b) = try setUp(slow(mode))
        var frame = show(toplevel, b[0])!
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "first frame")
        for i in 1...4 {
            let (buffer, previous) = (b[i % 3], b[(i - 1) % 3])
            let before = previous.releaseCount
            frame = show(toplevel, buffer)!
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
            try #require(!frame.isDone, "frame \(i) came within a roundtrip: the test needs the refresh to be slow")
            #expect(previous.releaseCount == before, "frame \(i): released before the frame (two wake-ups per frame, not one)")
            try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "frame \(i)")
            #expect(previous.releaseCount == before + 1, "frame \(i): not released with the frame")
            #expect(buffer.releaseCount == (i < 3 ? 0 : 1), "frame \(i): the current buffer was released")
        }
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        // b0 and b1 were shown twice, b2 once; b1 is current.
        #expect(b.map(\.releaseCount) == [2, 1, 1])
        #expect(!c.log.contains("protocol error"))
    }

    /// Re-attaching before any frame: each replacement by another buffer is one release, at once
    /// for buffers no frame latched and with the frame for the one it did; the same buffer
    /// committed twice in a row is no replacement.
    @Test(arguments: modes) func reattachedBuffersAreReleasedOncePerReplacement(mode: String) throws {
        let (c, context, toplevel, b) = try setUp(slow(mode), count: 5)
        let first = show(toplevel, b[4])!
        try context.connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "first frame")
        // b4 is latched; right after the vblank, a second before the next.
        for i in [0, 1, 1, 2, 0] { show(toplevel, b[i], frame: false) }
        let last = show(toplevel, b[3])!
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        try #require(!last.isDone, "a vblank came during the burst: the test needs it to take under a second")
        #expect(b.map(\.releaseCount) == [2, 1, 1, 0, 0], "b4 (latched) goes with the frame, the others at once")
        try context.connection.wait(timeout: timeout) { last.isDone }.orThrow(waitingFor: "the frame")
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(b.map(\.releaseCount) == [2, 1, 1, 0, 1])
        #expect(!c.log.contains("protocol error"))
    }

    /// Synchronized sub-surfaces: a buffer replaced in the cache was never shown (released at
    /// once, unless it is the current buffer too); one replaced when the cache is applied follows
    /// the rule of the current buffer: at once if no frame latched it, else with the next frame.
    @Test(arguments: modes) func synchronizedSubsurfaceReleasesByTheSameRules(mode: String) throws {
        let (c, context, toplevel, b) = try setUp(slow(mode), count: 5)
        let parentFrame = show(toplevel, b[4])!
        try context.connection.wait(timeout: timeout) { parentFrame.isDone }.orThrow(waitingFor: "first frame")
        let sub = try Subsurface(context: context, parent: toplevel.surface)
        sub.setPosition(x: 10, y: 10)
        func commitSub(_ i: Int) {
            sub.surface.attach(b[i])
            sub.surface.damageBuffer(x: 0, y: 0, width: 40, height: 40)
            sub.surface.commit()
        }
        let clock = Surface(context: context)
        try waitForVblank(clock, context)

        commitSub(0); commitSub(1); commitSub(2)  // cached: b0 and b1 replaced unseen
        toplevel.surface.commit()                 // b2 current
        commitSub(3); toplevel.surface.commit()   // b2 replaced before a frame latched it
        commitSub(3); commitSub(0)                // b3 (current) cached again, then replaced in the cache
        let vblank = clock.requestFrame()
        clock.commit()
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        try #require(!vblank.isDone, "a vblank came during the burst: the test needs it to take under a second")
        #expect(b.map(\.releaseCount) == [1, 1, 1, 0, 0], "b3 is current and must not be released")
        toplevel.surface.commit()                 // b0 current; b3 was never latched
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(b.map(\.releaseCount) == [1, 1, 1, 1, 0])

        try context.connection.wait(timeout: timeout) { vblank.isDone }.orThrow(waitingFor: "the vblank")
        commitSub(1)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()                 // b0, latched by that vblank, is replaced
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        try #require(!frame.isDone, "a vblank came within a roundtrip")
        #expect(b.map(\.releaseCount) == [1, 1, 1, 1, 0], "a latched buffer goes with the next frame")
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "the frame")
        #expect(b.map(\.releaseCount) == [2, 1, 1, 1, 0])

        // b1 (latched) replaced, its release waiting for the frame, then committed into the
        // cache again: in use, so the frame must not release it.
        commitSub(2); toplevel.surface.commit()
        commitSub(1)
        try waitForVblank(clock, context)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "a roundtrip")
        #expect(b.map(\.releaseCount) == [2, 1, 1, 1, 0], "a buffer waiting in the cache was released")
        let last = toplevel.surface.requestFrame()
        toplevel.surface.commit()                 // b1 current again; b2, latched, goes with the frame
        try context.connection.wait(timeout: timeout) { last.isDone }.orThrow(waitingFor: "the frame")
        #expect(b.map(\.releaseCount) == [2, 1, 2, 1, 0])
        let shot = try c.screenshot()
        #expect(shot.rgb(32 + 10 + 20, 32 + 10 + 20) == Self.colours[1])
        #expect(!c.log.contains("protocol error"))
    }
}
