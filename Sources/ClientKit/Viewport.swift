import CWayland

/// A `wp_viewport`: crops (`setSource`) and scales (`setDestination`) a surface's buffer.
public final class Viewport {
    let proxy: OpaquePointer
    private let viewporter: OpaquePointer

    public init(context: ClientContext, surface: Surface) throws {
        viewporter = try context.registry.bind("wp_viewporter", table: cw_wp_viewporter_interface(), maxVersion: 1).proxy
        proxy = wp_viewporter_get_viewport(viewporter, surface.proxy)
    }

    /// A second viewport for a surface that has one: the compositor must refuse it.
    public func duplicate(for surface: Surface) -> OpaquePointer {
        wp_viewporter_get_viewport(viewporter, surface.proxy)
    }

    deinit {
        wp_viewport_destroy(proxy)
        wp_viewporter_destroy(viewporter)
    }

    /// Source rectangle in surface coordinates before scaling; all -1 unsets it.
    public func setSource(x: Double, y: Double, width: Double, height: Double) {
        wp_viewport_set_source(proxy, wl_fixed_from_double(x), wl_fixed_from_double(y),
                               wl_fixed_from_double(width), wl_fixed_from_double(height))
    }

    /// Destination size; -1×-1 unsets it.
    public func setDestination(width: Int32, height: Int32) { wp_viewport_set_destination(proxy, width, height) }
}
