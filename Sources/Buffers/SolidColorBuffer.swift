import CPixman

/// A `wp_single_pixel_buffer_manager_v1` buffer: one premultiplied pixel, no client memory (so
/// nothing to guard, seal or map), scaled by the surface's viewport like any 1×1 buffer.
package final class SolidColorBuffer: ClientBuffer {
    private let image: OpaquePointer
    package let hasAlpha: Bool
    package var width: Int32 { 1 }
    package var height: Int32 { 1 }

    /// Components as the protocol gives them: 0 is 0 %, UINT32_MAX is 100 %, premultiplied.
    package init(red: UInt32, green: UInt32, blue: UInt32, alpha: UInt32) {
        func byte(_ v: UInt32) -> UInt32 { UInt32((UInt64(v) * 255 + 0x7FFF_FFFF) / 0xFFFF_FFFF) }
        let pixel = byte(alpha) << 24 | byte(red) << 16 | byte(green) << 8 | byte(blue)
        image = pixman_image_create_bits(PIXMAN_a8r8g8b8, 1, 1, nil, 4)!
        pixman_image_get_data(image)!.pointee = pixel
        hasAlpha = byte(alpha) != 255
    }

    deinit { pixman_image_unref(image) }

    package func withImage(_ body: (OpaquePointer) -> Void) -> BufferRead {
        body(image)
        return .read
    }
}
