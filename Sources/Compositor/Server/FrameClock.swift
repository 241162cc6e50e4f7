import Buffers
import CWayland
import Glibc
import Syscalls
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Paces frames like a display would: at most one per refresh period, on a fixed vblank grid,
/// and only when asked (an idle compositor arms no timer and uses no CPU).
///
/// A CLOCK_MONOTONIC timerfd armed at absolute vblank times gives nanosecond pacing (wl_event_loop
/// timers have millisecond resolution). While frames keep coming the timer stays armed as a
/// periodic one on the vblank grid, so a steady client costs one `read` per frame and no
/// re-arming; the first vblank nobody asked for disarms it. With refresh 0 a frame runs as soon
/// as the loop is idle.
package final class FrameClock {
    private let loop: OpaquePointer
    private let periodNs: UInt64
    private let epochNs: UInt64
    private let timerFD: Int32
    private var source: OpaquePointer?
    private var idleSource: OpaquePointer?
    private var lastVblank: UInt64 = 0
    /// A frame is wanted at the next vblank.
    private var armed = false
    /// The timerfd is running, periodic on the vblank grid.
    private var ticking = false
    private var isShutDown = false
    /// The vblank counter (MSC) of the last frame: ticks of the grid since the clock started.
    package private(set) var msc: UInt64 = 0
    /// Runs the frame; gets the frame's presentation time (CLOCK_MONOTONIC ns). Set by the
    /// owner once it exists (the clock is made first, so that the owner's fields need no
    /// implicitly unwrapped optional).
    package var onFrame: (UInt64) -> Void = { _ in }

    package init(loop: OpaquePointer, refreshMilliHz: Int32) {
        self.loop = loop
        periodNs = refreshMilliHz > 0 ? 1_000_000_000_000 / UInt64(refreshMilliHz) : 0
        epochNs = cw_monotonic_ns()
        timerFD = (try? Syscall.timerfd()) ?? -1
        let user = Unmanaged.passUnretained(self).toOpaque()
        source = wl_event_loop_add_fd(loop, timerFD, UInt32(WL_EVENT_READABLE), { _, _, data in
            Unmanaged<FrameClock>.fromOpaque(data!).takeUnretainedValue().timerFired()
            return 0
        }, user)
    }

    /// Must run before the event loop is destroyed. Frames asked for later (clients torn down
    /// at shutdown unmap their surfaces) are ignored: the timer is closed and the loop is going.
    package func shutdown() {
        isShutDown = true
        if let source { wl_event_source_remove(source) }
        if let idleSource { wl_event_source_remove(idleSource) }
        source = nil
        idleSource = nil
        if timerFD >= 0 { try? Syscall.close(timerFD) }
    }

    /// Asks for a frame at the next vblank (no-op when one is already scheduled).
    package func schedule() {
        guard !armed, !isShutDown else { return }
        armed = true
        if periodNs == 0 {
            idleSource = wl_event_loop_add_idle(loop, { data in
                let clock = Unmanaged<FrameClock>.fromOpaque(data!).takeUnretainedValue()
                clock.idleSource = nil
                clock.fire(at: cw_monotonic_ns())
            }, Unmanaged.passUnretained(self).toOpaque())
            return
        }
        // A running timer ticks at the next vblank anyway (always after the last presented one).
        guard !ticking else { return }
        let now = cw_monotonic_ns()
        // The first vblank after both now and the last presented one.
        let sinceEpoch = now - epochNs
        var next = epochNs + (sinceEpoch / periodNs + 1) * periodNs
        if next <= lastVblank { next = lastVblank + periodNs }
        ticking = (try? Syscall.armTimerfd(timerFD, deadline: next, interval: periodNs)) != nil
    }

    private func timerFired() {
        _ = try? Syscall.readCounter(timerFD)
        guard armed else {
            // A vblank with nothing to do: stop ticking until a frame is asked for.
            try? Syscall.armTimerfd(timerFD, deadline: 0, interval: 0)
            ticking = false
            return
        }
        let now = cw_monotonic_ns()
        let vblank = epochNs + (now - epochNs) / periodNs * periodNs
        fire(at: vblank)
    }

    private func fire(at vblank: UInt64) {
        armed = false
        lastVblank = vblank
        if periodNs > 0 { msc = (vblank - epochNs) / periodNs }
        onFrame(vblank)
    }

    /// Whether the timer is armed (for tests: an idle clock must not tick).
    package var isTicking: Bool { ticking }

    /// The refresh period in ns (0 without pacing).
    package var period: UInt64 { periodNs }
}
