/// What a composited frame offers capture consumers.
struct FrameInfo {
    /// The buffer now in front (what the output shows).
    let front: Framebuffer
    /// Output-space damage this frame repainted (empty when nothing changed).
    let damage: Region
    /// The frame's presentation time, CLOCK_MONOTONIC nanoseconds.
    let presentedNs: UInt64
}

/// A consumer of output frames (export-dmabuf, screencopy).
protocol FrameObserver: AnyObject {
    /// Called after each frame; return true to be called for the next one too.
    func frameComposited(_ frame: FrameInfo) -> Bool
    /// The output is going away (shutdown): cancel whatever is in flight.
    func outputGone()
}
