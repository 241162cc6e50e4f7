/// A role gives a surface its meaning (wl_surface spec: "a surface has at most one role, for
/// its whole lifetime"): xdg_toplevel, xdg_popup, later subsurface and cursor.
protocol SurfaceRole: AnyObject {
    /// Called by `wl_surface.commit` before anything is applied; false when the role posted a
    /// protocol error and the commit must be dropped.
    func validateCommit(_ surface: Surface) -> Bool
    /// Called by `wl_surface.commit` after the pending state was applied.
    func committed(_ surface: Surface, _ result: CommitResult<Buffer>)
    /// The wl_surface is being destroyed: forget it (unmap, stop configuring).
    func surfaceDestroyed(_ surface: Surface)
}

/// The compositor's model of a wl_surface: its double-buffered state and its role.
final class Surface {
    let id: UInt32
    /// The wl_surface resource while it exists (for enter/leave events).
    var resource: OpaquePointer?
    var pending = SurfaceState<Buffer>()
    var current = CommittedSurfaceState<Buffer>()
    /// Set once, by the first role request; a role object may be destroyed while the role stays.
    private(set) var roleName: String?
    /// The object that gets commit hooks (xdg_surface for xdg roles), while it exists.
    weak var role: SurfaceRole?
    /// Where the scene shows this surface, while it is mapped.
    weak var view: View?
    /// Whether the current state has a buffer (a surface without one is unmapped).
    var hasBuffer: Bool { current.buffer != nil }

    init(id: UInt32) { self.id = id }

    /// Gives the surface the role `name`; false when it already has a different one.
    func assignRole(_ name: String) -> Bool {
        if let roleName, roleName != name { return false }
        roleName = name
        return true
    }

    var width: Int32 { current.width }
    var height: Int32 { current.height }
}
