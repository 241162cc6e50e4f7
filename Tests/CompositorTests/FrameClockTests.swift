import CWayland
import Testing
@testable import Compositor

/// Found by protocol-fuzz under AddressSanitizer: at shutdown, destroying the clients unmaps their
/// surfaces, which asks the frame clock for a frame after it was shut down. With --refresh 0 that
/// added an idle source to a loop about to be destroyed (leaked, and it would run a frame on a
/// half-torn-down server); with pacing it armed the closed timerfd.
@Suite struct FrameClockTests {
    final class Count { var frames = 0 }

    @Test(arguments: [Int32(0), 60_000])
    func noFrameIsScheduledAfterShutdown(refreshMilliHz: Int32) throws {
        let loop = try #require(wl_event_loop_create())
        defer { wl_event_loop_destroy(loop) }
        let count = Count()
        let clock = FrameClock(loop: loop, refreshMilliHz: refreshMilliHz) { _ in count.frames += 1 }

        // Before shutdown a request gives a frame (so the check below can fail).
        clock.schedule()
        for _ in 0..<20 where count.frames == 0 { _ = wl_event_loop_dispatch(loop, 50) }
        #expect(count.frames == 1)

        clock.shutdown()
        clock.schedule()
        for _ in 0..<3 { _ = wl_event_loop_dispatch(loop, 30) }
        #expect(count.frames == 1, "a frame ran after shutdown")
    }
}
