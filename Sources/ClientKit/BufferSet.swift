/// Several equal buffers, so the client can draw the next frame while the compositor still
/// holds the previous one: `BufferSet<ShmBuffer>` (one `wl_shm_pool`) or `BufferSet<DmaBuffer>`
/// (one dma-buf each).
public final class BufferSet<Buffer: WaylandBuffer> {
    public let connection: Connection
    public let buffers: [Buffer]
    public let width: Int
    public let height: Int

    /// Equal buffers already made (all the same size, at least one).
    init(connection: Connection, buffers: [Buffer]) {
        precondition(!buffers.isEmpty, "a buffer set needs a buffer")
        self.connection = connection
        self.buffers = buffers
        self.width = buffers[0].width
        self.height = buffers[0].height
    }

    /// A buffer the compositor is not holding, if any.
    public func freeBuffer() -> Buffer? {
        buffers.first { !$0.isBusy }
    }

    /// A free buffer, dispatching events (sleeping in poll) until the compositor releases one.
    /// Nil if the wait was interrupted, timed out, or `stop` became true.
    public func waitForFreeBuffer(timeout: Duration? = nil, stop: () -> Bool = { false }) throws -> Buffer? {
        let result = try connection.wait(timeout: timeout) { freeBuffer() != nil || stop() }
        return result == .satisfied ? freeBuffer() : nil
    }
}

extension BufferSet where Buffer == ShmBuffer {
    /// `count` buffers of `width` x `height` in one pool over an `AnonymousFile` made with `strategy`.
    public convenience init(
        shm: Shm, width: Int, height: Int, format: ShmFormat = .xrgb8888, count: Int = 2,
        strategy: AnonymousFile.Strategy = .automatic, options: AnonymousFile.Options = AnonymousFile.Options()
    ) throws {
        precondition(width > 0 && height > 0 && count >= 1, "invalid buffer set")
        let bufferSize = width * format.bytesPerPixel * height
        let pool = try ShmPool(shm: shm, size: bufferSize * count, strategy: strategy, options: options)
        self.init(connection: shm.connection, buffers: (0..<count).map {
            ShmBuffer(pool: pool, offset: $0 * bufferSize, width: width, height: height, format: format)
        })
    }

    /// Equal buffers of one pool, already made.
    public convenience init(pool: ShmPool, buffers: [ShmBuffer]) {
        self.init(connection: pool.shm.connection, buffers: buffers)
    }

    /// The pool of the (first) buffer.
    public var pool: ShmPool { buffers[0].pool }

    public var format: ShmFormat { buffers[0].format }

    /// The strategy that made the pool's file.
    public var anonymousFileStrategy: AnonymousFile.Strategy { pool.file.usedStrategy }
}
