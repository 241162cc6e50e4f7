import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// wp_presentation against a real compositord: the clock, `presented` with the frame's
/// timestamp, refresh and MSC, and `discarded` for content nobody saw.
@Suite struct PresentationTests {
    let timeout = Duration.seconds(15)
    /// 60 Hz (compositord's default refresh) in ns, as the output's 60000 mHz gives it.
    let refreshNs: UInt64 = 1_000_000_000_000 / 60_000

    func connect(_ c: CompositorProcess) throws -> ClientContext {
        try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
    }

    /// A configured toplevel and its buffers.
    func window(_ context: ClientContext) throws -> (Toplevel, BufferSet<ShmBuffer>) {
        let buffers = try BufferSet(shm: context.shm, width: 64, height: 64)
        let toplevel = Toplevel(context: context, title: "presentation", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        return (toplevel, buffers)
    }

    func resolve(_ feedback: PresentationFeedback, _ context: ClientContext, _ what: String) throws {
        try context.connection.wait(timeout: timeout) { feedback.outcome != nil }.orThrow(waitingFor: what)
    }

    @Test func clockIsMonotonicAndEveryFrameIsPresentedOnTheRefreshGrid() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        // Bound twice: sync_output comes once per bound wl_output of the output.
        _ = try context.registry.bind("wl_output", table: cw_wl_output_interface(), maxVersion: 4)
        _ = try context.registry.bind("wl_output", table: cw_wl_output_interface(), maxVersion: 4)
        let presentation = try Presentation(context: context, timeout: timeout)
        #expect(presentation.clockID == UInt32(CLOCK_MONOTONIC))
        let (toplevel, buffers) = try window(context)

        var frames: [PresentationFeedback.Presented] = []
        for i in 0..<5 {
            let buffer = try #require(try buffers.waitForFreeBuffer(timeout: timeout))
            DemoPattern.draw(into: buffer, frame: i)
            let feedback = presentation.feedback(for: toplevel.surface)
            toplevel.present(buffer, requestFrame: false)
            try resolve(feedback, context, "feedback \(i)")
            let presented = try #require(feedback.presented, "frame \(i): \(String(describing: feedback.outcome))")
            // Received after it happened, in the clock clock_id names.
            #expect(presented.timeNs <= monotonicNs())
            #expect(UInt64(presented.refreshNs) == refreshNs)
            #expect(presented.flags == 0, "a software-timed headless output: no vsync/hw_clock/hw_completion/zero_copy")
            #expect(presented.syncOutputs == 2)
            frames.append(presented)
        }
        for (a, b) in zip(frames, frames.dropFirst()) {
            #expect(b.sequence > a.sequence, "MSC must increase: \(frames.map(\.sequence))")
            // Timestamps and MSC count the same vblanks: Δt = ΔMSC × refresh, exactly.
            #expect(b.timeNs - a.timeNs == (b.sequence - a.sequence) * refreshNs, "\(a) → \(b)")
        }
        #expect(!c.log.contains("protocol error"))
    }

    @Test func commitWithNothingToRepaintIsStillPresented() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let presentation = try Presentation(context: context, timeout: timeout)
        let (toplevel, buffers) = try window(context)
        let buffer = try #require(buffers.freeBuffer())
        DemoPattern.draw(into: buffer, frame: 0)
        let first = presentation.feedback(for: toplevel.surface)
        toplevel.present(buffer, requestFrame: false)
        try resolve(first, context, "first feedback")
        // No attach, no damage: the frame clock must still run a frame for the feedback.
        let again = presentation.feedback(for: toplevel.surface)
        toplevel.surface.commit()
        try resolve(again, context, "feedback of an empty commit")
        let a = try #require(first.presented), b = try #require(again.presented)
        #expect(b.sequence > a.sequence)
    }

    @Test func contentReplacedBeforeAFrameIsDiscarded() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let presentation = try Presentation(context: context, timeout: timeout)
        let (toplevel, buffers) = try window(context)
        let early = presentation.feedback(for: toplevel.surface)
        toplevel.present(buffers.buffers[0], requestFrame: false)
        // Sent in the same flush as the first commit, so no frame can come between them.
        let late = presentation.feedback(for: toplevel.surface)
        toplevel.present(buffers.buffers[1], requestFrame: false)
        try resolve(late, context, "second feedback")
        try resolve(early, context, "first feedback")
        #expect(early.outcome == .discarded)
        #expect(late.presented != nil, "\(String(describing: late.outcome))")
    }

    @Test func unmappedSurfaceAndDestroyedSurfaceAreDiscarded() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let presentation = try Presentation(context: context, timeout: timeout)
        // Not configured yet, so no buffer: nothing of it is on the output.
        var toplevel: Toplevel? = Toplevel(context: context, title: "unmapped", appID: "test")
        let unmapped = presentation.feedback(for: toplevel!.surface)
        toplevel!.surface.commit()
        try resolve(unmapped, context, "feedback of an unmapped surface")
        #expect(unmapped.outcome == .discarded)
        // Requested but never committed: the surface goes first.
        let orphan = presentation.feedback(for: toplevel!.surface)
        toplevel = nil
        try resolve(orphan, context, "feedback of a destroyed surface")
        #expect(orphan.outcome == .discarded)
        #expect(!c.log.contains("protocol error"))
    }

    @Test func withoutARefreshCycleRefreshAndSequenceAreZero() throws {
        let c = try CompositorProcess(["--refresh", "0"])
        let context = try connect(c)
        let presentation = try Presentation(context: context, timeout: timeout)
        let (toplevel, buffers) = try window(context)
        let feedback = presentation.feedback(for: toplevel.surface)
        toplevel.present(buffers.buffers[0], requestFrame: false)
        try resolve(feedback, context, "feedback")
        let presented = try #require(feedback.presented)
        // "If the output does not have a concept of vertical retrace or a refresh cycle" (spec).
        #expect(presented.refreshNs == 0)
        #expect(presented.sequence == 0)
        #expect(presented.timeNs > 0 && presented.timeNs <= monotonicNs())
    }

    private func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
