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
        // On a failure the framebuffers made so far go with this half-made backend, and their
        // memory with them.
        for _ in 0..<count {
            let fd: Int32
            do throws(Errno) { fd = try valueOrNegatedErrno(cdrm_dma_heap_alloc(heap, UInt64(size))) } catch {
                throw Failure(description: "DMA_HEAP_IOCTL_ALLOC: \(error)")
            }
            let memory: FramebufferMemory
            do throws(Errno) { memory = FramebufferMemory(try Mapping(fd: fd, length: size, writable: true), closing: [fd]) } catch {
                try? Syscall.close(fd)
                throw Failure(description: "mmap: \(error)")
            }
            let export = DmabufExport(fd: fd, size: size, offset: 0, stride: UInt32(stride), modifier: drmFormatModLinear)
            framebuffers.append(Framebuffer(width: width, height: height, stride: Int32(stride), memory: memory, export: export))
        }
    }
}
