import CWayland

/// One `wl_buffer`, whatever backs it: `ShmBuffer` (a region of a `wl_shm_pool`) or `DmaBuffer`
/// (a dma-buf imported through `zwp_linux_dmabuf_v1`).
///
/// Busy from the commit that attaches it until the compositor's `wl_buffer.release`: while busy
/// the compositor may still read it, so the client must not draw into it.
public class WaylandBuffer: EventReceiver {
    let proxy: OpaquePointer
    public let width: Int
    public let height: Int
    /// Bytes per row.
    public let stride: Int
    public private(set) var isBusy = false
    /// How many times the compositor released this buffer.
    public private(set) var releaseCount = 0

    private var destroyed = false
    /// The destroy request went out but the proxy was kept (`sendDestroyKeepingProxy`).
    private var destroyRequestSent = false

    /// Takes ownership of `proxy` (a `wl_buffer`) and routes its events here.
    init(proxy: OpaquePointer, width: Int, height: Int, stride: Int) {
        self.proxy = proxy
        self.width = width
        self.height = height
        self.stride = stride
        routeEvents(of: proxy, to: self)
    }

    deinit { destroy() }

    /// Destroys the `wl_buffer` now (e.g. while a surface still shows it, which is legal); the
    /// pixels stay where they are (pool or dma-buf). Idempotent.
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
    public func sendDestroyKeepingProxy() {
        guard !destroyed, !destroyRequestSent else { return }
        destroyRequestSent = true
        wl_proxy_marshal_array(proxy, UInt32(WL_BUFFER_DESTROY), nil)
    }

    /// Called when a commit hands the buffer to the compositor.
    func markBusy() { isBusy = true }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        guard opcode == 0 else { return } // release
        isBusy = false
        releaseCount += 1
    }

    // MARK: CPU access (overridden by the subclasses)

    /// The first pixel, valid between `beginCPUWrite` and `endCPUWrite`.
    var cpuPixels: UnsafeMutablePointer<UInt32> { preconditionFailure("WaylandBuffer is abstract") }
    /// Prepares the memory for CPU writes (dma-buf: `DMA_BUF_IOCTL_SYNC` START|WRITE).
    func beginCPUWrite() throws {}
    /// Ends the CPU writes (dma-buf: `DMA_BUF_IOCTL_SYNC` END|WRITE).
    func endCPUWrite() throws {}

    /// Runs `body` with the pixels (rows of `stride` bytes), bracketed as the memory needs: for
    /// dma-bufs by `DMA_BUF_IOCTL_SYNC` START|WRITE before and END|WRITE after (also when `body`
    /// throws). Drawing into a busy buffer is a bug. The pointer is valid only inside `body`.
    public final func withMutablePixels<R>(_ body: (UnsafeMutablePointer<UInt32>) throws -> R) throws -> R {
        try beginCPUWrite()
        let result: R
        do {
            result = try body(cpuPixels)
        } catch {
            try? endCPUWrite()
            throw error
        }
        try endCPUWrite()
        return result
    }
}
