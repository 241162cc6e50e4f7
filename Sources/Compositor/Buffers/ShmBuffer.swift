import CPixman

/// A wl_shm buffer: a rectangle of pixels inside a pool, read in place (no copy).
final class ShmBuffer: ClientBuffer {
    let pool: ShmPool
    let layout: ShmBufferLayout
    private var image: OpaquePointer?
    private var imageGeneration = -1

    init(pool: ShmPool, layout: ShmBufferLayout) {
        self.pool = pool
        self.layout = layout
    }

    deinit { if let image { pixman_image_unref(image) } }

    var width: Int32 { layout.width }
    var height: Int32 { layout.height }
    var hasAlpha: Bool { layout.format.hasAlpha }
    var format: PixelFormat { layout.format }

    func pixmanImage() -> OpaquePointer? {
        // The pool mapping may have moved since the image was made (wl_shm_pool.resize).
        if image == nil || imageGeneration != pool.generation {
            if let image { pixman_image_unref(image) }
            let pixels = (pool.data + layout.offset).assumingMemoryBound(to: UInt32.self)
            image = pixman_image_create_bits_no_clear(layout.format.pixman, layout.width, layout.height, pixels, layout.stride)
            imageGeneration = pool.generation
        }
        return image
    }
}
