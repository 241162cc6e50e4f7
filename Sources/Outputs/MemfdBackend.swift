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
    /// The sealed memfd, kept open for the framebuffers' lifetime (the mapping is theirs).
    private let file: SealedFile

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(width: Int32, height: Int32, count: Int = OutputBackends.swapchainLength) throws {
        self.width = width
        self.height = height
        let stride = Int(width) * 4
        let bufferSize = stride * Int(height)
        let mappingSize = bufferSize * count
        file = try SealedFile(name: "compositord-output", size: mappingSize)
        let memory: FramebufferMemory
        do throws(Errno) {
            memory = FramebufferMemory(try Mapping(fd: file.fd.rawValue, length: mappingSize, writable: true), closing: [])
        } catch {
            throw Failure(description: "mmap of the output memfd failed: \(error)")
        }
        framebuffers = (0..<count).map {
            Framebuffer(width: width, height: height, stride: Int32(stride), memory: memory, offset: $0 * bufferSize)
        }
    }
}
