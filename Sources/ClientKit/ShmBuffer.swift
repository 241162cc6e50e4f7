import CWayland

/// One `wl_buffer` in a `ShmPool`.
///
/// Busy from the commit that attaches it until the compositor's `wl_buffer.release` (see
/// `WaylandBuffer`). Its pixels need no bracketing: `pixels` may be written directly.
public final class ShmBuffer: WaylandBuffer {
    public let pool: ShmPool
    public let offset: Int
    public let format: ShmFormat

    /// A buffer `width` x `height` at `offset`, rows packed (`stride = width * 4`).
    public convenience init(pool: ShmPool, offset: Int, width: Int, height: Int, format: ShmFormat) {
        self.init(pool: pool, offset: offset, width: width, height: height, stride: width * format.bytesPerPixel, format: format)
    }

    /// A buffer with rows `stride` bytes apart (at least `width * 4`), e.g. the layout a
    /// compositor asks for in `zwlr_screencopy_frame_v1.buffer`.
    init(pool: ShmPool, offset: Int, width: Int, height: Int, stride: Int, format: ShmFormat) {
        self.pool = pool
        self.offset = offset
        self.format = format
        let proxy = pool.makeBufferProxy(offset: offset, width: width, height: height, stride: stride, format: format)
        super.init(proxy: proxy, width: width, height: height, stride: stride)
    }

    /// The pixels, valid until the pool grows. Drawing into a busy buffer is a bug.
    public var pixels: UnsafeMutablePointer<UInt32> {
        (pool.memory + offset).bindMemory(to: UInt32.self, capacity: stride / 4 * height)
    }

    override var cpuPixels: UnsafeMutablePointer<UInt32> { pixels }
}
