/// What a presented frame tells `wp_presentation_feedback.presented`.
public struct PresentedFrame {
    /// When the frame became the output's front buffer (the frame clock's tick, CLOCK_MONOTONIC).
    public var timeNs: UInt64
    /// ns until the next tick; 0 without a fixed refresh (`--refresh 0`).
    public var refreshNs: UInt32
    /// The output's vblank counter (MSC) at this frame; 0 without a refresh cycle.
    public var sequence: UInt64
    /// Which of wp_presentation_feedback.kind hold. None does here:
    /// - vsync: the ticks are a software timer on a fixed grid, and the spec says "relying on
    ///   software scheduling is not acceptable for this flag" (no display hardware retraces).
    ///   The fixed cycle is still reported, through `refreshNs` and `sequence`.
    /// - hw_clock: the timestamp is a software CLOCK_MONOTONIC reading, not a hardware measurement.
    /// - hw_completion: no hardware signals completion; the timer decides the frame is shown.
    /// - zero_copy: pixman copies every client buffer into the output buffer.
    /// Weston's headless backend and wlroots' headless backend also send 0.
    public var flags: UInt32 = 0

    public init(timeNs: UInt64, refreshNs: UInt32, sequence: UInt64) {
        self.timeNs = timeNs
        self.refreshNs = refreshNs
        self.sequence = sequence
    }
}
