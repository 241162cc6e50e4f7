/// Several equal buffers in one pool, so the client can draw the next frame while the
/// compositor still holds the previous one.
public final class BufferSet {
    public let pool: ShmPool
    public let buffers: [ShmBuffer]
    public let width: Int
    public let height: Int
    public let format: ShmFormat

    public init(
        shm: Shm, width: Int, height: Int, format: ShmFormat = .xrgb8888, count: Int = 2,
        strategy: AnonymousFile.Strategy = .automatic, options: AnonymousFile.Options = AnonymousFile.Options()
    ) throws {
        precondition(width > 0 && height > 0 && count >= 1, "invalid buffer set")
        let bufferSize = width * format.bytesPerPixel * height
        let pool = try ShmPool(shm: shm, size: bufferSize * count, strategy: strategy, options: options)
        self.pool = pool
        self.buffers = (0..<count).map {
            ShmBuffer(pool: pool, offset: $0 * bufferSize, width: width, height: height, format: format)
        }
        self.width = width
        self.height = height
        self.format = format
    }

    /// Equal buffers already made (all the same size and format, at least one).
    init(pool: ShmPool, buffers: [ShmBuffer]) {
        precondition(!buffers.isEmpty, "a buffer set needs a buffer")
        self.pool = pool
        self.buffers = buffers
        self.width = buffers[0].width
        self.height = buffers[0].height
        self.format = buffers[0].format
    }

    /// The strategy that made the pool's file.
    public var anonymousFileStrategy: AnonymousFile.Strategy { pool.file.usedStrategy }

    /// A buffer the compositor is not holding, if any.
    public func freeBuffer() -> ShmBuffer? {
        buffers.first { !$0.isBusy }
    }

    /// A free buffer, dispatching events (sleeping in poll) until the compositor releases one.
    /// Nil if the wait was interrupted, timed out, or `stop` became true.
    public func waitForFreeBuffer(timeout: Duration? = nil, stop: () -> Bool = { false }) throws -> ShmBuffer? {
        let result = try pool.shm.connection.wait(timeout: timeout) { freeBuffer() != nil || stop() }
        return result == .satisfied ? freeBuffer() : nil
    }
}
