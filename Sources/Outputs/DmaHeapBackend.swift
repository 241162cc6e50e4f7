import Buffers
import CDRM
import Glibc
import Syscalls
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// Second fallback without DRM: framebuffers allocated from a DMA heap (/dev/dma_heap/system).
package final class DmaHeapBackend: OutputBackend {
    package let kind = "dma-heap"
    package let device: String?
    package let width: Int32, height: Int32
    package private(set) var framebuffers: [Framebuffer] = []
    private var buffers: [(fd: Int32, mapping: UnsafeMutableRawPointer, size: Int)] = []

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(heap path: String, width: Int32, height: Int32, count: Int) throws {
        device = path
        self.width = width
        self.height = height
        let heap: Int32
        do throws(Errno) { heap = try Syscall.open(path, O_RDONLY | O_CLOEXEC) } catch { throw Failure(description: "cannot open: \(error)") }
        defer { try? Syscall.close(heap) }
        let stride = Int(width) * 4
        let size = stride * Int(height)
        do {
            for _ in 0..<count {
                let fd: Int32
                do throws(Errno) { fd = try valueOrNegatedErrno(cdrm_dma_heap_alloc(heap, UInt64(size))) } catch {
                    throw Failure(description: "DMA_HEAP_IOCTL_ALLOC: \(error)")
                }
                let m: UnsafeMutableRawPointer
                do throws(Errno) { m = try Syscall.mmap(length: size, protection: PROT_READ | PROT_WRITE, fd: fd) } catch {
                    try? Syscall.close(fd)
                    throw Failure(description: "mmap: \(error)")
                }
                buffers.append((fd, m, size))
                let export = DmabufExport(fd: fd, size: size, offset: 0, stride: UInt32(stride), modifier: drmFormatModLinear)
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
            try? Syscall.munmap(b.mapping, b.size)
            try? Syscall.close(b.fd)
        }
        buffers = []
    }

    deinit { release() }
}
