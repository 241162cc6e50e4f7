/// A wl_shm buffer: a rectangle of pixels inside a pool, read in place (no copy).
package final class ShmBuffer: ClientBuffer {
    package let pool: ShmPool
    package let layout: ShmBufferLayout
    private let view: PixmanView

    package init(pool: ShmPool, layout: ShmBufferLayout) {
        self.pool = pool
        self.layout = layout
        view = PixmanView(width: layout.width, height: layout.height, stride: layout.stride, offset: layout.offset, format: layout.format)
    }

    package var width: Int32 { layout.width }
    package var height: Int32 { layout.height }
    package var hasAlpha: Bool { layout.format.hasAlpha }
    package var format: PixelFormat { layout.format }

    /// The pool's file could shrink under this buffer (it is read under the SIGBUS guard).
    package var canShrink: Bool { pool.guarded }

    package var captureOnly: Bool { pool.captureOnly }

    /// The pool's file no longer covers this buffer (checked at the latch, on-demand compositing).
    package var fileShrank: Bool { pool.fileEnds(before: layout.offset + layout.span) }

    package func withImage(_ body: (OpaquePointer) -> Void) -> BufferRead {
        guard !pool.captureOnly else { return .unreadable }  // never attached (WlSurface refuses it)
        var outcome = BufferRead.read
        // The pool mapping may have moved since last time (wl_shm_pool.resize): the view rebuilds.
        let ok = pool.read {
            guard let image = view.image(base: pool.data) else { outcome = .unreadable; return }
            body(image)
        }
        return ok ? outcome : .faulted
    }
}
