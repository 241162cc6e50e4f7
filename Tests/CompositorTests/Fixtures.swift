import CWayland
import Glibc
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Real wl_shm-style buffers for unit tests: a memfd filled by `pixel(x, y)`, mapped by a real
/// ShmPool exactly as `wl_shm.create_pool` would.
func makeShmBuffer(width: Int32, height: Int32, format: PixelFormat = .xrgb8888,
                   pixel: (Int32, Int32) -> UInt32) throws -> Buffer {
    let stride = width * 4
    let size = Int(stride * height)
    let fd = cw_memfd_create("test-pool", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
    precondition(fd >= 0)
    precondition(ftruncate(fd, off_t(size)) == 0)
    let map = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
    for y in 0..<height {
        for x in 0..<width {
            map.storeBytes(of: pixel(x, y), toByteOffset: Int(y * stride + x * 4), as: UInt32.self)
        }
    }
    munmap(map, size)
    let pool = try ShmPool(fd: fd, size: Int32(size), policy: .guardOnly)
    let layout = try ShmBufferLayout.validate(offset: 0, width: width, height: height, stride: stride,
                                              format: format, poolSize: size).get()
    return Buffer(contents: ShmBuffer(pool: pool, layout: layout))
}

/// A buffer of `format` whose rows (`stride` bytes apart) are given as raw bytes.
func makeShmBuffer(width: Int32, height: Int32, format: PixelFormat, stride: Int32, bytes: [UInt8]) throws -> Buffer {
    let size = Int(stride * height)
    precondition(bytes.count <= size)
    let fd = cw_memfd_create("test-pool", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
    precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
    _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    let pool = try ShmPool(fd: fd, size: Int32(size), policy: .guardOnly)
    let layout = try ShmBufferLayout.validate(offset: 0, width: width, height: height, stride: stride,
                                              format: format, poolSize: size).get()
    return Buffer(contents: ShmBuffer(pool: pool, layout: layout))
}
