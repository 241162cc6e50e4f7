import Buffers
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// The one headless output: its mode, its backend's swapchain, and the frame in front.
///
/// A frame is composited into the back buffer, then becomes the front. Buffers that were drawn
/// `age` frames ago get the union of the damage of the frames since (buffer-age tracking), so
/// only changed pixels are ever repainted.
package final class Output {
    package let backend: OutputBackend
    package let name = "HEADLESS-1"
    /// Refresh rate in mHz (wl_output.mode); 0 means "render on every commit".
    package let refreshMilliHz: Int32
    package private(set) var frameCount: UInt64 = 0
    package private(set) var front: Framebuffer?
    /// Damage of the most recent frames, newest last, for buffers older than one frame.
    private var damageHistory: [Region] = []

    package init(backend: OutputBackend, refreshMilliHz: Int32) {
        self.backend = backend
        self.refreshMilliHz = refreshMilliHz
    }

    package var width: Int32 { backend.width }
    package var height: Int32 { backend.height }
    package var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }
    package var description: String { "compositord headless output \(width)x\(height)" }

    /// Composites `damage` (plus what the back buffer missed) and makes it the front buffer.
    /// Returns the region that was repainted and the buffers whose guarded read faulted, or nil
    /// when every other buffer is held by a consumer (the caller keeps the damage for later:
    /// compositord never writes a buffer a consumer is reading, and never waits for one).
    @discardableResult
    package func composite(_ scene: Scene, damage: Region, renderer: PixmanRenderer) -> (repainted: Region, faulted: [Buffer])? {
        // Headless, nothing scans the front buffer out: while no consumer holds it, the next frame
        // is drawn into it again (age 1: only this frame's damage is repainted, and one buffer's
        // pages are all the memory a frame touches). Otherwise the least recently drawn buffer
        // no consumer holds.
        let back: Framebuffer
        if let front, front.holds == 0 {
            back = front
        } else if let free = backend.framebuffers.filter({ $0.holds == 0 }).min(by: { $0.lastFrame < $1.lastFrame }) {
            back = free
        } else {
            return nil
        }
        frameCount += 1
        var repaint = damage
        let age = back.lastFrame == 0 ? UInt64.max : frameCount - back.lastFrame
        if age > UInt64(damageHistory.count) + 1 {
            repaint = Region(bounds)
        } else if age > 1 {
            for d in damageHistory.suffix(Int(age - 1)) { repaint.formUnion(d) }
        }
        let faulted = back.withCPUAccess(write: true) { renderer.render(scene, into: back.image, damage: repaint) }
        back.lastFrame = frameCount
        front = back
        damageHistory.append(damage)
        if damageHistory.count > backend.framebuffers.count { damageHistory.removeFirst() }
        return (repaint, faulted)
    }
}
