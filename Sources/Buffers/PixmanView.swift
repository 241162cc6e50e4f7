import CPixman
import Glibc

/// A pixman image over client pixels at `base + offset` with `stride`, rebuilt when the base
/// moves. Where pixman cannot wrap the rows (stride not a multiple of 4, e.g. odd-width RGB565),
/// the rows are copied into an aligned bounce buffer on every read instead.
package final class PixmanView {
    package let width: Int32, height: Int32, stride: Int32, offset: Int
    package let format: PixelFormat
    private var image: OpaquePointer?
    private var imageBase: UnsafeMutableRawPointer?
    private var bounce: UnsafeMutableRawPointer?

    package init(width: Int32, height: Int32, stride: Int32, offset: Int, format: PixelFormat) {
        self.width = width
        self.height = height
        self.stride = stride
        self.offset = offset
        self.format = format
    }

    deinit {
        if let image { pixman_image_unref(image) }
        bounce?.deallocate()
    }

    private var needsBounce: Bool { stride % 4 != 0 }
    private var rowBytes: Int { Int(width * format.bytesPerPixel) }
    private var bounceStride: Int { (rowBytes + 3) & ~3 }

    /// The image for pixels at `base`; reads client memory when bouncing, so call it inside the
    /// guarded read. Nil when pixman refuses the layout.
    package func image(base: UnsafeMutableRawPointer) -> OpaquePointer? {
        if needsBounce {
            if bounce == nil { bounce = .allocate(byteCount: bounceStride * Int(height), alignment: 16) }
            for y in 0..<Int(height) {
                memcpy(bounce! + y * bounceStride, base + offset + y * Int(stride), rowBytes)
            }
        }
        if image != nil && imageBase == base { return image }
        if let image { pixman_image_unref(image) }
        let (pixels, pitch) = needsBounce ? (bounce!, Int32(bounceStride)) : (base + offset, stride)
        image = pixman_image_create_bits_no_clear(format.pixman, width, height, pixels.assumingMemoryBound(to: UInt32.self), pitch)
        imageBase = base
        return image
    }
}
