import CWayland

/// One `wl_buffer` in a `ShmPool`.
///
/// Busy from the commit that attaches it until the compositor's `wl_buffer.release`: while busy
/// the compositor may still read it, so the client must not draw into it.
public final class ShmBuffer: EventReceiver {
    public let pool: ShmPool
    let proxy: OpaquePointer
    public let offset: Int
    public let width: Int
    public let height: Int
    /// Bytes per row.
    public let stride: Int
    public let format: ShmFormat
    public private(set) var isBusy = false
    /// How many times the compositor released this buffer.
    public private(set) var releaseCount = 0

    /// A buffer `width` x `height` at `offset`, rows packed (`stride = width * 4`).
    init(pool: ShmPool, offset: Int, width: Int, height: Int, format: ShmFormat) {
        self.pool = pool
        self.offset = offset
        self.width = width
        self.height = height
        self.stride = width * format.bytesPerPixel
        self.format = format
        self.proxy = pool.makeBufferProxy(offset: offset, width: width, height: height, stride: stride, format: format)
        routeEvents(of: proxy, to: self)
    }

    private var destroyed = false
    /// The destroy request went out but the proxy was kept (`sendDestroyKeepingProxy`).
    private var destroyRequestSent = false

    deinit { destroy() }

    /// Destroys the `wl_buffer` now (e.g. while a surface still shows it, which is legal);
    /// the pixels stay in the pool. Idempotent.
    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        if destroyRequestSent {
            // The server already forgot the object: free the proxy without another request,
            // which would name an unknown object.
            wl_proxy_destroy(proxy)
        } else {
            wl_buffer_destroy(proxy)
        }
    }

    /// Sends `wl_buffer.destroy` but keeps the proxy alive, so the client can go on naming a
    /// dead object (the use-after-destroy misbehaviour). `wl_buffer_destroy` would free the proxy.
    func sendDestroyKeepingProxy() {
        guard !destroyed, !destroyRequestSent else { return }
        destroyRequestSent = true
        wl_proxy_marshal_array(proxy, UInt32(WL_BUFFER_DESTROY), nil)
    }

    /// The pixels, valid until the pool grows. Drawing into a busy buffer is a bug.
    public var pixels: UnsafeMutablePointer<UInt32> {
        (pool.memory + offset).bindMemory(to: UInt32.self, capacity: stride / 4 * height)
    }

    /// Called when a commit hands the buffer to the compositor.
    func markBusy() { isBusy = true }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        guard opcode == 0 else { return } // release
        isBusy = false
        releaseCount += 1
    }
}
