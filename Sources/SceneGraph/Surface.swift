import Buffers
import SurfaceModel

/// A role gives a surface its meaning (wl_surface spec: "a surface has at most one role, for
/// its whole lifetime"): xdg_toplevel, xdg_popup (through xdg_surface) and wl_subsurface. The
/// role objects live in the protocol layer; the scene only calls these hooks.
package protocol SurfaceRole: AnyObject {
    /// Called by `wl_surface.commit` before anything is applied; false when the role posted a
    /// protocol error and the commit must be dropped.
    func validateCommit(_ surface: Surface) -> Bool
    /// Called by `wl_surface.commit` after the pending state was applied.
    func committed(_ surface: Surface, _ result: CommitResult<Buffer>)
    /// The wl_surface is being destroyed: forget it (unmap, stop configuring).
    func surfaceDestroyed(_ surface: Surface)
    /// The parent wl_surface is being destroyed (sub-surfaces: unmapped until they go too).
    func parentDestroyed()
}

extension SurfaceRole {
    package func parentDestroyed() {}
}

/// The compositor's model of a wl_surface: its double-buffered state, its role's hooks, its
/// place in the scene. Protocol-free: the wl_surface object (Protocols) owns it and keeps the
/// per-surface protocol extensions (viewport, explicit sync) itself.
///
/// No `weak` references point to or from a surface: a weakly referenced object gets a side table,
/// and then every retain and release of it (several per commit) takes the runtime's slow path.
/// The links are strong and cut explicitly when a Wayland object is destroyed (the wl_surface
/// here, its role and viewport objects in their resource destroy handlers); objects that outlive
/// the wl_surface check `isDestroyed`.
package final class Surface {
    package let id: UInt32
    /// The wl_surface resource while it exists: an opaque handle for the layers above, which send
    /// events about the surface (enter/leave, focus) and learn its client from it.
    package var resource: OpaquePointer?
    package var pending = SurfaceState<Buffer>()
    package var current = CommittedSurfaceState<Buffer>()
    /// Set once, by the first role request; a role object may be destroyed while the role stays.
    package private(set) var roleName: String?
    /// Whether the wl_surface resource was destroyed (set when its destroy handler is done).
    package private(set) var isDestroyed = false
    /// The object that gets commit hooks (xdg_surface for xdg roles), while it exists: cleared by
    /// the role object's destroy handler, or here when the wl_surface goes first.
    package var role: SurfaceRole?
    /// Where the scene shows this surface, while it is mapped (root surfaces: toplevels, popups);
    /// the scene sets and clears it (map, unmap).
    package var view: View?
    /// Whether the current state has a buffer (a surface without one is unmapped).
    package var hasBuffer: Bool { current.buffer != nil }
    /// `Server.framesRun` when `current.buffer` became current: while unchanged, no frame has
    /// latched that buffer, and a commit replacing it releases it at once.
    package var bufferSinceFrame: UInt64 = 0
    /// Whether the surface is on the output now (maintained by the scene, for enter/leave).
    package var isMapped = false
    /// The outputs the surface overlaps now, bit i for the scene's output i (maintained by the
    /// scene, for wl_surface.enter and leave per output).
    package var outputMask: UInt64 = 0
    /// The wl_surface.preferred_buffer_scale last sent (1, the protocol's default, until then).
    package var preferredBufferScaleSent: Int32 = 1

    // MARK: sub-surfaces (wl_subsurface spec)

    /// The wl_subsurface role object while this surface is a sub-surface (cleared when it is unlinked).
    package var subsurface: Subsurface?
    /// Sub-surface stacking: this surface (`.this`) among its children, bottom to top. The pending
    /// order is changed by place_above/below and becomes current when this surface's state is applied.
    package var pendingStack: [StackItem] = [.this]
    package var currentStack: [StackItem] = [.this]
    /// A synchronized sub-surface's commits wait here until its parent's state is applied.
    package var cached: SurfaceState<Buffer>?
    /// Commits held until their dma-buf is ready, and those queued behind them, oldest first
    /// (HeldCommits.swift).
    package var heldCommits: [HeldCommit] = []

    package init(id: UInt32) { self.id = id }

    /// The wl_surface resource is destroyed and its teardown done: the link to its role object
    /// is cut (it may outlive the surface, and holds it strongly in turn).
    package func markDestroyed() {
        isDestroyed = true
        resource = nil
        role = nil
    }

    /// The parent surface when this is a sub-surface.
    package var parent: Surface? { subsurface?.parent }

    /// The topmost ancestor (itself when it is not a sub-surface).
    package var root: Surface {
        var s = self
        while let p = s.parent { s = p }
        return s
    }

    /// Whether `other` is this surface or one of its ancestors.
    package func hasAncestor(_ other: Surface) -> Bool {
        var s: Surface? = self
        while let c = s {
            if c === other { return true }
            s = c.parent
        }
        return false
    }

    /// The children in current stacking order, bottom to top.
    package var currentChildren: [Subsurface] {
        currentStack.compactMap { if case let .child(s) = $0 { s } else { nil } }
    }

    /// Gives the surface the role `name`; false when it already has a different one.
    package func assignRole(_ name: String) -> Bool {
        if let roleName, roleName != name { return false }
        roleName = name
        return true
    }

    /// Where the surface's origin is on the output, when it is mapped.
    package var outputOrigin: (x: Int32, y: Int32)? {
        guard isMapped else { return nil }
        if let view { return (view.x, view.y) }
        guard let sub = subsurface, let p = sub.parent?.outputOrigin else { return nil }
        return (p.x + sub.x, p.y + sub.y)
    }

    package var width: Int32 { current.width }
    package var height: Int32 { current.height }
}

/// One entry of a surface's sub-surface stack.
package enum StackItem {
    /// The parent surface itself.
    case this
    case child(Subsurface)

    package func `is`(_ sub: Subsurface) -> Bool {
        if case let .child(s) = self { return s === sub }
        return false
    }
}

extension StackItem {
    package static func same(_ a: StackItem, _ b: StackItem) -> Bool {
        switch (a, b) {
        case (.this, .this): true
        case let (.child(x), .child(y)): x === y
        default: false
        }
    }
}
