import Buffers
import CDRM
import CWayland
import Glibc
import SystemPackage
import SurfaceModel
import SceneGraph
import Render

/// First fallback without DRM: each framebuffer is a memfd sealed with F_SEAL_SHRINK (udmabuf
/// requires it, and rejects F_SEAL_WRITE) turned into a real dma-buf by /dev/udmabuf.
package final class UdmabufBackend: OutputBackend {
    package let kind = "udmabuf"
    package let device: String?
    package let width: Int32, height: Int32
    package private(set) var framebuffers: [Framebuffer] = []
    private var buffers: [(memfd: Int32, dmabuf: Int32, mapping: UnsafeMutableRawPointer, size: Int)] = []

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(device path: String, width: Int32, height: Int32, count: Int) throws {
        device = path
        self.width = width
        self.height = height
        let dev = open(path, O_RDWR | O_CLOEXEC)
        guard dev >= 0 else { throw Failure(description: "cannot open: \(Errno.current)") }
        defer { close(dev) }
        let stride = Int(width) * 4
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (stride * Int(height) + page - 1) / page * page  // udmabuf wants whole pages
        do {
            for _ in 0..<count {
                let memfd = cw_memfd_create("compositord-output", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
                guard memfd >= 0 else { throw Failure(description: "memfd_create: \(Errno.current)") }
                guard ftruncate(memfd, off_t(size)) == 0, fcntl(memfd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0 else {
                    let e = Errno.current
                    close(memfd)
                    throw Failure(description: "sizing or sealing the memfd: \(e)")
                }
                let dmabuf = cdrm_udmabuf_create(dev, memfd, 0, UInt64(size))
                guard dmabuf >= 0 else {
                    close(memfd)
                    throw Failure(description: "UDMABUF_CREATE: \(Errno(rawValue: -dmabuf))")
                }
                guard let m = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0), m != MAP_FAILED else {
                    let e = Errno.current
                    close(memfd); close(dmabuf)
                    throw Failure(description: "mmap: \(e)")
                }
                buffers.append((memfd, dmabuf, m, size))
                let export = DmabufExport(fd: dmabuf, size: size, offset: 0, stride: UInt32(stride), modifier: drmFormatModLinear)
                framebuffers.append(Framebuffer(width: width, height: height, stride: Int32(stride), data: m, export: export))
            }
        } catch {
            release()
            throw error
        }
    }

    private func release() {
        framebuffers = []
        for b in buffers {
            munmap(b.mapping, b.size)
            close(b.dmabuf)
            close(b.memfd)
        }
        buffers = []
    }

    deinit { release() }
}
