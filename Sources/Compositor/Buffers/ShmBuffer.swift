import CPixman
import Glibc

/// A wl_shm buffer: a rectangle of pixels inside a pool, read in place (no copy) except where
/// pixman cannot wrap the layout (rows not 4-byte aligned, e.g. odd-width RGB565): those rows are
/// copied into an aligned bounce buffer on each read.
final class ShmBuffer: ClientBuffer {
    let pool: ShmPool
    let layout: ShmBufferLayout
    private var image: OpaquePointer?
    private var imageGeneration = -1
    private var bounce: UnsafeMutableRawPointer?
    private var bounceStride: Int32 { (layout.width * layout.format.bytesPerPixel + 3) & ~3 }

    init(pool: ShmPool, layout: ShmBufferLayout) {
        self.pool = pool
        self.layout = layout
    }

    deinit {
        if let image { pixman_image_unref(image) }
        bounce?.deallocate()
    }

    var width: Int32 { layout.width }
    var height: Int32 { layout.height }
    var hasAlpha: Bool { layout.format.hasAlpha }
    var format: PixelFormat { layout.format }
    private var needsBounce: Bool { layout.stride % 4 != 0 }

    func withImage(_ body: (OpaquePointer) -> Void) -> BufferRead {
        var outcome = BufferRead.read
        let ok = pool.read {
            guard let image = currentImage() else { outcome = .unreadable; return }
            if needsBounce, let bounce {
                let rowBytes = Int(layout.width * layout.format.bytesPerPixel)
                for y in 0..<Int(layout.height) {
                    memcpy(bounce + y * Int(bounceStride), pool.data + layout.offset + y * Int(layout.stride), rowBytes)
                }
            }
            body(image)
        }
        return ok ? outcome : .faulted
    }

    /// The pixman image over the pool mapping (or the bounce buffer), rebuilt when the mapping moved.
    private func currentImage() -> OpaquePointer? {
        if image != nil && imageGeneration == pool.generation { return image }
        if let image { pixman_image_unref(image) }
        let pixels: UnsafeMutableRawPointer
        let stride: Int32
        if needsBounce {
            if bounce == nil {
                bounce = .allocate(byteCount: Int(bounceStride) * Int(layout.height), alignment: 16)
            }
            (pixels, stride) = (bounce!, bounceStride)
        } else {
            (pixels, stride) = (pool.data + layout.offset, layout.stride)
        }
        image = pixman_image_create_bits_no_clear(layout.format.pixman, layout.width, layout.height,
                                                  pixels.assumingMemoryBound(to: UInt32.self), stride)
        imageGeneration = pool.generation
        return image
    }
}
