import Buffers
import CDRM
import Glibc
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
        let heap = open(path, O_RDONLY | O_CLOEXEC)
        guard heap >= 0 else { throw Failure(description: "cannot open: \(Errno.current)") }
        defer { close(heap) }
        let stride = Int(width) * 4
        let size = stride * Int(height)
        do {
            for _ in 0..<count {
                let fd = cdrm_dma_heap_alloc(heap, UInt64(size))
                guard fd >= 0 else { throw Failure(description: "DMA_HEAP_IOCTL_ALLOC: \(Errno(rawValue: -fd))") }
                guard let m = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), m != MAP_FAILED else {
                    let e = Errno.current
                    close(fd)
                    throw Failure(description: "mmap: \(e)")
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
            munmap(b.mapping, b.size)
            close(b.fd)
        }
        buffers = []
    }

    deinit { release() }
}
