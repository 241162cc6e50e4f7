import CWayland
import Glibc
import SystemPackage

/// A `wl_shm_pool` over an `AnonymousFile`, mapped into this process.
public final class ShmPool {
    public let shm: Shm
    public let file: AnonymousFile
    let proxy: OpaquePointer
    /// The mapping; it moves when the pool grows, so never keep pointers derived from it.
    private(set) var memory: UnsafeMutableRawPointer
    public var size: Int { file.size }

    public init(shm: Shm, size: Int, strategies: [AnonymousFile.Strategy] = AnonymousFile.Strategy.allCases) throws {
        let file: AnonymousFile
        do {
            file = try AnonymousFile(size: size, strategies: strategies)
        } catch {
            throw ClientError.system(operation: "creating a \(size)-byte anonymous file", errno: error)
        }
        self.memory = try Self.map(file, size: size)
        self.shm = shm
        self.file = file
        // libwayland dups the descriptor while sending; the file keeps ours.
        self.proxy = wl_shm_create_pool(shm.proxy, file.fileDescriptor.rawValue, Int32(size))
    }

    deinit {
        // Buffers made from the pool stay valid after wl_shm_pool.destroy (the protocol says so),
        // and each buffer holds this pool, so the mapping outlives them.
        wl_shm_pool_destroy(proxy)
        munmap(memory, file.size)
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
        munmap(memory, oldSize)
        memory = newMemory
        wl_shm_pool_resize(proxy, Int32(newSize))
    }

    /// A `wl_buffer` proxy for a region of the pool; `ShmBuffer` owns it.
    func makeBufferProxy(offset: Int, width: Int, height: Int, stride: Int, format: ShmFormat) -> OpaquePointer {
        precondition(offset >= 0 && offset + stride * height <= size, "buffer outside the pool")
        return wl_shm_pool_create_buffer(proxy, Int32(offset), Int32(width), Int32(height), Int32(stride), format.rawValue)
    }

    private static func map(_ file: AnonymousFile, size: Int) throws -> UnsafeMutableRawPointer {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fileDescriptor.rawValue, 0)
        guard let address, address != MAP_FAILED else {
            throw ClientError.system(operation: "mmap", errno: Errno(rawValue: Glibc.errno))
        }
        return address
    }
}
