import Buffers
import SurfaceModel
import SceneGraph
import Outputs
import Protocols

/// One output as the compositor runs it (sway's `sway_output` beside `wlr_output`): the output
/// (backend, swapchain, mode, place in the layout), its own frame clock, the layout damage not
/// composited on it yet, its capture consumers, and its wl_output state.
package final class CompositorOutput: FrameSource {
    package let output: Output
    /// Its position in `Server.outputs` and the scene's layout (the bit of `Surface.outputMask`).
    package let index: Int
    package let frameClock: FrameClock
    package let outputState: OutputState
    /// Scene damage on this output not composited yet, in output-local layout coordinates.
    package var damage = Region()
    /// Capture consumers waiting for this output's frames (export-dmabuf, screencopy).
    package var frameObservers: [FrameObserver] = []
    /// Framebuffer damage composited since consumers were last given a frame. Every composite
    /// adds to it, whoever asked for it (a vblank, a consumer, a screenshot, SIGUSR1), so a frame
    /// composited outside a vblank still reaches consumers' damage (copy_with_damage).
    package var unobservedDamage = Region()
    /// The last `FrameInfo.sequence` of this output.
    package var observedFrames: UInt64 = 0
    /// Frame callbacks of surfaces on this output committed since its last frame: done after
    /// its next one.
    package var pendingFrameCallbacks: [any FrameCallbackObject] = []
    /// The array a frame works through, swapped with the pending one so that neither side
    /// allocates per frame (its capacity is kept).
    package var firingCallbacks: [any FrameCallbackObject] = []

    package init(output: Output, index: Int, loop: OpaquePointer, scene: Scene) {
        self.output = output
        self.index = index
        frameClock = FrameClock(loop: loop, refreshMilliHz: output.refreshMilliHz)
        outputState = OutputState(output: output, index: index, scene: scene)
    }

    /// Calls `observer` after every frame of this output until it returns false, and makes sure
    /// a frame comes.
    package func observeFrames(_ observer: FrameObserver) {
        frameObservers.append(observer)
        frameClock.schedule()
    }
}

/// The layout's frames, for captures of one window (toplevel sources), which render the window's
/// own surface tree wherever it is: paced by the first output's clock, each frame carrying the
/// scene damage since the last one in layout coordinates (not one output's framebuffer damage,
/// which misses a window on another output, and is scaled or rotated on some).
package final class LayoutFrames: FrameSource {
    private var observers: [FrameObserver] = []
    private var unobservedDamage = Region()
    private var sequence: UInt64 = 0
    private let schedule: () -> Void

    package init(schedule: @escaping () -> Void) { self.schedule = schedule }

    package var isWatched: Bool { !observers.isEmpty }

    package func observeFrames(_ observer: FrameObserver) {
        observers.append(observer)
        schedule()
    }

    /// The scene changed `damage` (layout coordinates).
    package func damaged(_ damage: Region) { unobservedDamage.formUnion(damage) }

    /// A frame of the first output: observers get the damage since their last frame (`front` is
    /// that output's, for FrameInfo; window captures render the window themselves).
    package func deliver(front: Framebuffer?, presentedAt ns: UInt64) {
        if !observers.isEmpty, let front {
            sequence += 1
            let info = FrameInfo(front: front, damage: unobservedDamage, presentedNs: ns, sequence: sequence)
            unobservedDamage = Region()
            let current = observers
            observers = []
            observers += current.filter { $0.frameComposited(info) }
        } else if !unobservedDamage.isEmpty {
            sequence += 1  // a change no consumer saw: no history spans it (FrameInfo.sequence)
            unobservedDamage = Region()
        }
    }

    /// Shutdown: whatever is in flight is cancelled.
    package func gone() {
        for observer in observers { observer.outputGone() }
        observers = []
    }
}
