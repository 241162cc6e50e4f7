/// Renders frames paced by the compositor: each commit carries a `wl_surface.frame` request,
/// and the next frame is drawn only when that callback's `done` arrives.
public final class FrameLoop {
    public enum StopReason: Sendable, Equatable {
        /// The requested number of frames completed.
        case completed
        /// The compositor sent `xdg_toplevel.close`.
        case closed
        /// A `SignalInterrupt` fired.
        case interrupted
        /// The overall timeout passed.
        case timedOut
    }

    public struct Summary: Sendable {
        /// Frame callbacks completed (each after a commit of a new frame).
        public var frames: Int
        /// From the first commit to the last completed frame (or the stop).
        public var elapsed: Duration
        public var stopReason: StopReason

        public init(frames: Int, elapsed: Duration, stopReason: StopReason) {
            self.frames = frames
            self.elapsed = elapsed
            self.stopReason = stopReason
        }

        public var framesPerSecond: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            return seconds > 0 ? Double(frames) / seconds : 0
        }
    }

    public let toplevel: Toplevel
    /// A free buffer of the set, waiting for a release if none is (nil: timed out, interrupted, stopped).
    private let nextFreeBuffer: (_ timeout: Duration?, _ stop: () -> Bool) throws -> WaylandBuffer?
    /// Draws frame `index` (0, 1, 2...) into a free buffer of the set.
    private let draw: (WaylandBuffer, Int) throws -> Void

    public private(set) var framesCompleted = 0

    /// Renders with `buffers` (shm or dma-buf). `draw` may throw (dma-buf access can fail);
    /// `run` then rethrows.
    public init<Buffer: WaylandBuffer>(
        toplevel: Toplevel, buffers: BufferSet<Buffer>, draw: @escaping (Buffer, Int) throws -> Void
    ) {
        self.toplevel = toplevel
        self.nextFreeBuffer = { timeout, stop in try buffers.waitForFreeBuffer(timeout: timeout, stop: stop) }
        // The set only ever hands out its own buffers, so the cast back always succeeds.
        self.draw = { buffer, frame in try draw(buffer as! Buffer, frame) }
    }

    /// Waits for the first configure, then renders until `frames` frames completed (nil: until
    /// closed or interrupted) or `timeout` passed. Throws `ProtocolError` / `ConnectionError`, or
    /// what `draw` threw.
    public func run(frames: Int? = nil, timeout: Duration? = nil) throws -> Summary {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        func remaining() -> Duration? { deadline.map { $0 - clock.now } }
        func stopReason(for result: Connection.WaitResult) -> StopReason {
            if toplevel.closeRequested { return .closed }
            return result == .interrupted ? .interrupted : .timedOut
        }

        var firstCommit: ContinuousClock.Instant?
        func summary(_ reason: StopReason) -> Summary {
            Summary(frames: framesCompleted, elapsed: firstCommit.map { clock.now - $0 } ?? .zero, stopReason: reason)
        }

        let configured = try toplevel.waitForConfigure(timeout: remaining())
        guard configured == .satisfied, !toplevel.closeRequested else { return summary(stopReason(for: configured)) }

        var frameIndex = 0
        while frames.map({ framesCompleted < $0 }) ?? true {
            // Never draw into a buffer the compositor may still be reading.
            guard let buffer = try nextFreeBuffer(remaining(), { toplevel.closeRequested }) else {
                return summary(stopReason(for: toplevel.connection.interrupt?.isTriggered == true ? .interrupted : .timedOut))
            }
            try draw(buffer, frameIndex)
            let callback = toplevel.present(buffer)!
            if firstCommit == nil { firstCommit = clock.now }
            frameIndex += 1

            let result = try toplevel.connection.wait(timeout: remaining()) { callback.isDone || toplevel.closeRequested }
            if callback.isDone { framesCompleted += 1 }
            if result != .satisfied || toplevel.closeRequested { return summary(stopReason(for: result)) }
        }
        try toplevel.connection.flush()
        return summary(.completed)
    }
}
