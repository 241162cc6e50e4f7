import CWayland

/// A `wp_single_pixel_buffer_manager_v1` buffer: 1×1, one colour, no memory of its own; scale it
/// with a `Viewport` destination.
public final class SinglePixelBuffer: WaylandBuffer {
    /// `red`…`alpha` as the protocol has them: 0 is 0 %, `UInt32.max` 100 %, premultiplied.
    /// Throws `ClientError.missingGlobal` without the manager.
    public init(registry: Registry, red: UInt32, green: UInt32, blue: UInt32, alpha: UInt32 = .max) throws {
        let manager = try registry.bind("wp_single_pixel_buffer_manager_v1", table: cw_wp_single_pixel_buffer_manager_v1_interface(),
                                        maxVersion: 1).proxy
        defer { wp_single_pixel_buffer_manager_v1_destroy(manager) }
        super.init(proxy: wp_single_pixel_buffer_manager_v1_create_u32_rgba_buffer(manager, red, green, blue, alpha)!,
                   width: 1, height: 1, stride: 4)
    }
}
