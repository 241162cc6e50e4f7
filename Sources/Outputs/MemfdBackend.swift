import Buffers
import Glibc
import Syscalls
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// The last fallback: framebuffers in one sealed memfd. Not a dma-buf, and it says so (no
/// consumer can take its frames by fd; export-dmabuf cancels). Sealing means no one holding the fd
/// can shrink it under the compositor.
package final class MemfdBackend: OutputBackend {
    package let kind = "memfd"
    package let device: String? = nil
    package let width: Int32, height: Int32
    package let framebuffers: [Framebuffer]
    private let file: SealedFile
    private let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(width: Int32, height: Int32, count: Int = OutputBackends.swapchainLength) throws {
        self.width = width
        self.height = height
        let stride = Int(width) * 4
        let bufferSize = stride * Int(height)
        mappingSize = bufferSize * count
        file = try SealedFile(name: "compositord-output", size: mappingSize)
        let m: UnsafeMutableRawPointer
        do throws(Errno) { m = try Syscall.mmap(length: mappingSize, protection: PROT_READ | PROT_WRITE, fd: file.fd.rawValue) } catch {
            throw Failure(description: "mmap of the output memfd failed: \(error)")
        }
        mapping = m
        framebuffers = (0..<count).map {
            Framebuffer(width: width, height: height, stride: Int32(stride), data: m + $0 * bufferSize)
        }
    }

    deinit { try? Syscall.munmap(mapping, mappingSize) }
}
