import CPixman

/// One buffer the output composites into, with a pixman image over its memory.
final class Framebuffer {
    let width: Int32, height: Int32, stride: Int32
    let data: UnsafeMutableRawPointer
    let image: OpaquePointer
    /// The frame number this buffer last received (0 = never), for buffer-age damage tracking.
    var lastFrame: UInt64 = 0

    init(width: Int32, height: Int32, stride: Int32, data: UnsafeMutableRawPointer) {
        self.width = width
        self.height = height
        self.stride = stride
        self.data = data
        image = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, width, height, data.assumingMemoryBound(to: UInt32.self), stride)
    }

    deinit { pixman_image_unref(image) }

    /// The pixel at (x, y) as 0xXXRRGGBB.
    func pixel(x: Int, y: Int) -> UInt32 {
        data.load(fromByteOffset: y * Int(stride) + x * 4, as: UInt32.self)
    }
}

/// Where composited frames go: the seam between the renderer and the memory it draws into.
/// Today: a sealed memfd. Next: DRM dumb buffers exported as dma-buf, udmabuf, dma-heap.
protocol OutputBackend: AnyObject {
    /// Short name printed at start-up: "memfd", later "drm-dumb", "udmabuf", "dma-heap".
    var kind: String { get }
    /// The device used, or nil ("-") for none.
    var device: String? { get }
    var width: Int32 { get }
    var height: Int32 { get }
    /// DRM fourcc of the framebuffers (XRGB8888).
    var fourcc: UInt32 { get }
    /// Every framebuffer of the swapchain.
    var framebuffers: [Framebuffer] { get }
    /// Brackets CPU writes (a dma-buf needs DMA_BUF_IOCTL_SYNC around them).
    func beginWrite(_ framebuffer: Framebuffer)
    func endWrite(_ framebuffer: Framebuffer)
    /// Brackets CPU reads (screenshots, screencopy).
    func beginRead(_ framebuffer: Framebuffer)
    func endRead(_ framebuffer: Framebuffer)
}
