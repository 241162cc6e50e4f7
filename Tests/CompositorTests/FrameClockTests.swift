import CWayland
import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

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
        let clock = FrameClock(loop: loop, refreshMilliHz: refreshMilliHz)
        clock.onFrame = { _ in count.frames += 1 }

        // Before shutdown a request gives a frame (so the check below can fail).
        clock.schedule()
        for _ in 0..<20 where count.frames == 0 { _ = wl_event_loop_dispatch(loop, 50) }
        #expect(count.frames == 1)

        clock.shutdown()
        clock.schedule()
        for _ in 0..<3 { _ = wl_event_loop_dispatch(loop, 30) }
        #expect(count.frames == 1, "a frame ran after shutdown")
    }

    /// While frames keep being asked for, the timer stays armed as a periodic one (no re-arming
    /// per frame) and frames land one period apart on the grid; the first vblank nobody asked
    /// for disarms it, so an idle compositor sleeps.
    @Test func ticksWhileFramesComeAndStopsWhenIdle() throws {
        let loop = try #require(wl_event_loop_create())
        defer { wl_event_loop_destroy(loop) }
        final class Frames { var times: [UInt64] = []; var wanted = 6 }
        let frames = Frames()
        let clock = FrameClock(loop: loop, refreshMilliHz: 200_000)  // 5 ms period
        clock.onFrame = { [unowned clock] t in
            frames.times.append(t)
            if frames.times.count < frames.wanted { clock.schedule() }
        }
        defer { clock.shutdown() }
        clock.schedule()
        #expect(clock.isTicking)
        for _ in 0..<100 where frames.times.count < frames.wanted { _ = wl_event_loop_dispatch(loop, 20) }
        #expect(frames.times.count == frames.wanted)
        #expect(clock.isTicking, "still armed until a vblank passes with nothing to do")
        for (a, b) in zip(frames.times, frames.times.dropFirst()) {
            #expect(b > a && (b - a) % clock.period == 0, "frames on the vblank grid: \(a) → \(b)")
        }
        // The next vblank has nothing to do: the timer disarms and the loop then sleeps.
        for _ in 0..<10 where clock.isTicking { _ = wl_event_loop_dispatch(loop, 20) }
        #expect(!clock.isTicking)
        #expect(frames.times.count == frames.wanted, "no frame without a request")

        // Asked again, it ticks again.
        frames.wanted += 1
        clock.schedule()
        for _ in 0..<10 where frames.times.count < frames.wanted { _ = wl_event_loop_dispatch(loop, 20) }
        #expect(frames.times.count == frames.wanted)
    }
}
