import CPixman

/// Pixels a client handed over that the renderer may read: a wl_shm buffer today, a dma-buf
/// import later. Implementations hand out a pixman image valid for one render pass.
protocol ClientBuffer: AnyObject {
    var width: Int32 { get }
    var height: Int32 { get }
    /// False for X-formats: the renderer may then use SRC instead of OVER.
    var hasAlpha: Bool { get }
    /// A pixman image over the client's pixels, or nil when they cannot be read (the renderer
    /// then skips the surface).
    func pixmanImage() -> OpaquePointer?
}
