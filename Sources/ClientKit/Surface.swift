import CWayland

/// A `wl_surface`. Requests are queued; they reach the compositor at the next flush or wait.
public final class Surface {
    public let context: ClientContext
    let proxy: OpaquePointer

    init(context: ClientContext) {
        self.context = context
        self.proxy = wl_compositor_create_surface(context.compositor)
    }

    deinit {
        wl_surface_destroy(proxy)
    }

    /// Attaches `buffer` for the next commit; the buffer counts as busy from here on
    /// (once committed, only `wl_buffer.release` frees it).
    public func attach(_ buffer: ShmBuffer?) {
        wl_surface_attach(proxy, buffer?.proxy, 0, 0)
        buffer?.markBusy()
    }

    /// Damage in buffer coordinates (`wl_surface.damage_buffer`, version 4).
    public func damageBuffer(x: Int, y: Int, width: Int, height: Int) {
        wl_surface_damage_buffer(proxy, Int32(x), Int32(y), Int32(clamping: width), Int32(clamping: height))
    }

    /// Asks for a `done` when the compositor is ready for the next frame; applies with the next commit.
    public func requestFrame() -> Callback {
        Callback(connection: context.connection, proxy: wl_surface_frame(proxy))
    }

    public func commit() {
        wl_surface_commit(proxy)
    }
}
