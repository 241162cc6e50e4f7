import Glibc

/// The fallback output backend: framebuffers in one sealed memfd (not a dma-buf, and it says so).
/// Sealing means no one holding the fd can shrink it under the compositor or a consumer.
final class MemfdBackend: OutputBackend {
    let kind = "memfd"
    let device: String? = nil
    let width: Int32, height: Int32
    let fourcc = fourccCode("XR24")
    let framebuffers: [Framebuffer]
    let file: SealedFile
    private let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(width: Int32, height: Int32, count: Int = 2) throws {
        self.width = width
        self.height = height
        let stride = Int(width) * 4
        let bufferSize = stride * Int(height)
        mappingSize = bufferSize * count
        file = try SealedFile(name: "compositord-output", size: mappingSize)
        guard let m = mmap(nil, mappingSize, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd.rawValue, 0), m != MAP_FAILED else {
            throw Failure(description: "mmap of the output memfd failed: errno \(errno)")
        }
        mapping = m
        framebuffers = (0..<count).map {
            Framebuffer(width: width, height: height, stride: Int32(stride), data: m + $0 * bufferSize)
        }
    }

    deinit { munmap(mapping, mappingSize) }

    func beginWrite(_ framebuffer: Framebuffer) {}
    func endWrite(_ framebuffer: Framebuffer) {}
    func beginRead(_ framebuffer: Framebuffer) {}
    func endRead(_ framebuffer: Framebuffer) {}
}
