import Buffers
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore
import CWayland

/// What the wl_compositor family (wl_surface, wl_region, wl_subcompositor, wl_subsurface) asks
/// of the compositor: the commit path (held while a buffer is not ready, HeldCommits.swift) and
/// input letting go of a destroyed surface.
package protocol SurfaceDelegate: AnyObject {
    /// `wl_surface.commit` after validation: applied now, cached, or held for its buffer.
    func commitWhenReady(_ surface: Surface, acquire: SyncobjPoint?)
    /// Applies a surface's cached state (a sub-surface leaving synchronized mode).
    func applyState(_ surface: Surface, includingPending: Bool)
    /// The wl_surface is being destroyed: pointer, touch and keyboard focus let go of it.
    func surfaceDestroyed(_ surface: Surface)
    /// Its commits held for buffers are dropped.
    func dropHeldCommits(_ surface: Surface)
}

/// The wl_compositor family's state: the context, the delegate, and the scene surfaces and
/// sub-surface trees are shown in.
package final class CompositorState {
    package unowned let context: ProtocolContext
    package unowned let delegate: SurfaceDelegate
    package let scene: Scene

    /// wp_fractional_scale_manager_v1's objects, per surface.
    package let fractionalScale: FractionalScaleState

    package init(context: ProtocolContext, delegate: SurfaceDelegate, scene: Scene) {
        self.context = context
        self.delegate = delegate
        self.scene = scene
        fractionalScale = FractionalScaleState(context: context)
    }
}
