import CWayland

/// A `wl_subsurface`: `surface` placed relative to `parent` (applied with the parent's commit).
/// Synchronized by default: its commits show only when the parent commits.
public final class Subsurface {
    public let surface: Surface
    public let parent: Surface
    let proxy: OpaquePointer
    private let subcompositor: OpaquePointer

    /// Binds `wl_subcompositor` for this one sub-surface (cheap; keeps ownership simple).
    public init(context: ClientContext, parent: Surface) throws {
        let bound = try context.registry.bind("wl_subcompositor", table: cw_wl_subcompositor_interface(), maxVersion: 1)
        subcompositor = bound.proxy
        surface = Surface(context: context)
        self.parent = parent
        proxy = wl_subcompositor_get_subsurface(subcompositor, surface.proxy, parent.proxy)
    }

    deinit {
        wl_subsurface_destroy(proxy)
        wl_subcompositor_destroy(subcompositor)
    }

    public func setPosition(x: Int32, y: Int32) { wl_subsurface_set_position(proxy, x, y) }
    public func placeAbove(_ sibling: Surface) { wl_subsurface_place_above(proxy, sibling.proxy) }
    public func placeBelow(_ sibling: Surface) { wl_subsurface_place_below(proxy, sibling.proxy) }
    public func setSync() { wl_subsurface_set_sync(proxy) }
    public func setDesync() { wl_subsurface_set_desync(proxy) }
}
