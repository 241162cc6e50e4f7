import CWayland
import Glibc
import SystemPackage

/// A `wl_shm_pool` over an `AnonymousFile`, mapped into this process.
public final class ShmPool {
    public let shm: Shm
    public let file: AnonymousFile
    let proxy: OpaquePointer
    /// The mapping (the whole file); it moves when the pool grows, so never keep pointers derived from it.
    private(set) var memory: UnsafeMutableRawPointer
    private var mappedSize: Int
    /// The size of the mapped file, which buffers must fit in.
    public var size: Int { file.size }
    /// The size the compositor was told (`create_pool`, `resize`); equals `size` unless a
    /// misbehaviour lied about it.
    public private(set) var declaredSize: Int
    private var proxyDestroyed = false

    /// Creates a file of `size` bytes with `strategy` (see `AnonymousFile`) and a pool over it.
    public convenience init(
        shm: Shm, size: Int, strategy: AnonymousFile.Strategy = .automatic,
        options: AnonymousFile.Options = AnonymousFile.Options()
    ) throws {
        try self.init(shm: shm, file: AnonymousFile(size: size, strategy: strategy, options: options))
    }

    /// A pool over `file`, declared to the compositor as `declaredSize` bytes (default: the
    /// file's size; anything else is a lie only the misbehaviour modes tell).
    public init(shm: Shm, file: AnonymousFile, declaredSize: Int? = nil) throws {
        self.memory = try Self.map(file, size: file.size)
        self.mappedSize = file.size
        self.shm = shm
        self.file = file
        self.declaredSize = declaredSize ?? file.size
        // libwayland dups the descriptor while sending; the file keeps ours.
        self.proxy = wl_shm_create_pool(shm.proxy, file.fileDescriptor.rawValue, Int32(truncatingIfNeeded: self.declaredSize))
    }

    deinit {
        // Buffers made from the pool stay valid after wl_shm_pool.destroy (the protocol says so),
        // and each buffer holds this pool, so the mapping outlives them.
        destroyProxy()
        munmap(memory, mappedSize)
    }

    /// Sends `wl_shm_pool.destroy` now; buffers made from the pool stay usable. Idempotent.
    public func destroyProxy() {
        guard !proxyDestroyed else { return }
        proxyDestroyed = true
        wl_shm_pool_destroy(proxy)
    }

    /// Grows the file and the pool (`wl_shm_pool.resize`), then remaps.
    public func grow(to newSize: Int) throws {
        let oldSize = file.size
        guard newSize > oldSize else { return }
        do {
            try file.grow(to: newSize)
        } catch {
            throw ClientError.system(operation: "growing the pool file to \(newSize) bytes", errno: error)
        }
        let newMemory = try Self.map(file, size: newSize)
        munmap(memory, mappedSize)
        memory = newMemory
        mappedSize = newSize
        declaredSize = newSize
        wl_shm_pool_resize(proxy, Int32(newSize))
    }

    /// Sends `wl_shm_pool.resize(size)` without touching the file or the mapping (a misbehaviour).
    public func sendResize(_ size: Int32) {
        declaredSize = Int(size)
        wl_shm_pool_resize(proxy, size)
    }

    /// A `wl_buffer` proxy for a region of the pool; `ShmBuffer` owns it.
    func makeBufferProxy(offset: Int, width: Int, height: Int, stride: Int, format: ShmFormat) -> OpaquePointer {
        precondition(offset >= 0 && offset + stride * height <= size, "buffer outside the pool")
        return makeRawBufferProxy(offset: Int32(offset), width: Int32(width), height: Int32(height), stride: Int32(stride), format: format.rawValue)
    }

    /// `wl_shm_pool.create_buffer` with whatever arguments, checked by nobody but the compositor.
    public func makeRawBufferProxy(offset: Int32, width: Int32, height: Int32, stride: Int32, format: UInt32) -> OpaquePointer {
        wl_shm_pool_create_buffer(proxy, offset, width, height, stride, format)
    }

    private static func map(_ file: AnonymousFile, size: Int) throws -> UnsafeMutableRawPointer {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fileDescriptor.rawValue, 0)
        guard let address, address != MAP_FAILED else {
            throw ClientError.system(operation: "mmap", errno: Errno(rawValue: Glibc.errno))
        }
        return address
    }
}
