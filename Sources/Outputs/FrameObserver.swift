import Buffers
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// What a composited frame offers capture consumers.
package struct FrameInfo {
    /// The buffer now in front (what the output shows).
    package let front: Framebuffer
    /// Output-space damage this frame repainted (empty when nothing changed).
    package let damage: Region
    /// The frame's presentation time, CLOCK_MONOTONIC nanoseconds.
    package let presentedNs: UInt64
    /// Counts the frames whose damage consumers were told (or that changed something while no
    /// consumer watched): frame N's `damage` is what changed since frame N − 1. A capture target
    /// that received frame N needs only the damage of the frames after it (its buffer age).
    package let sequence: UInt64

    package init(front: Framebuffer, damage: Region, presentedNs: UInt64, sequence: UInt64) {
        self.front = front
        self.damage = damage
        self.presentedNs = presentedNs
        self.sequence = sequence
    }
}

/// A consumer of output frames (export-dmabuf, screencopy).
package protocol FrameObserver: AnyObject {
    /// Called after each frame; return true to be called for the next one too.
    func frameComposited(_ frame: FrameInfo) -> Bool
    /// The output is going away (shutdown): cancel whatever is in flight.
    func outputGone()
}
