import Buffers
import CDRM
import CWayland
import Glibc
import Syscalls
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

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(device path: String, width: Int32, height: Int32, count: Int) throws {
        device = path
        self.width = width
        self.height = height
        let dev: Int32
        do throws(Errno) { dev = try Syscall.open(path, O_RDWR | O_CLOEXEC) } catch { throw Failure(description: "cannot open: \(error)") }
        defer { try? Syscall.close(dev) }
        let stride = Int(width) * 4
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (stride * Int(height) + page - 1) / page * page  // udmabuf wants whole pages
        // On a failure the framebuffers made so far go with this half-made backend, and their
        // memory with them.
        for _ in 0..<count {
            let memfd: Int32
            do throws(Errno) {
                memfd = try Syscall.memfdCreate("compositord-output", flags: UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
            } catch { throw Failure(description: "memfd_create: \(error)") }
            do throws(Errno) {
                try Syscall.ftruncate(memfd, size)
                try Syscall.addSeals(memfd, Int32(CW_F_SEAL_SHRINK))
            } catch {
                try? Syscall.close(memfd)
                throw Failure(description: "sizing or sealing the memfd: \(error)")
            }
            let dmabuf: Int32
            do throws(Errno) { dmabuf = try valueOrNegatedErrno(cdrm_udmabuf_create(dev, memfd, 0, UInt64(size))) } catch {
                try? Syscall.close(memfd)
                throw Failure(description: "UDMABUF_CREATE: \(error)")
            }
            let memory: FramebufferMemory
            do throws(Errno) { memory = FramebufferMemory(try Mapping(fd: memfd, length: size, writable: true), closing: [dmabuf, memfd]) } catch {
                try? Syscall.close(memfd); try? Syscall.close(dmabuf)
                throw Failure(description: "mmap: \(error)")
            }
            let export = DmabufExport(fd: dmabuf, size: size, offset: 0, stride: UInt32(stride), modifier: drmFormatModLinear)
            framebuffers.append(Framebuffer(width: width, height: height, stride: Int32(stride), memory: memory, export: export))
        }
    }
}
