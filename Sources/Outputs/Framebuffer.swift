import Buffers
import CDRM
import CPixman
import SurfaceModel
import SceneGraph
import Render
import Syscalls
import CWayland

/// A framebuffer exported as a dma-buf: what export-dmabuf hands a consumer.
package struct DmabufExport {
    /// Owned by the framebuffer's `FramebufferMemory`; consumers get duplicates through the protocol.
    package let fd: Int32
    package let size: Int
    package let offset: UInt32
    package let stride: UInt32
    package let modifier: UInt64
}

/// The memory behind framebuffers, with one owner: the CPU mapping and the fds it came from,
/// unmapped and closed (and `onRelease` run: a DRM dumb buffer's handle destroyed) when the last
/// framebuffer using it goes. The backends make it; nothing else unmaps or closes.
package final class FramebufferMemory {
    package let mapping: Mapping
    private let fds: [Int32]
    private let onRelease: () -> Void

    /// Owns `mapping` and `fds` from here on, on failure paths too.
    package init(_ mapping: consuming Mapping, closing fds: [Int32], onRelease: @escaping () -> Void = {}) {
        self.mapping = mapping
        self.fds = fds
        self.onRelease = onRelease
    }

    deinit {
        onRelease()
        for fd in fds { try? Syscall.close(fd) }
        // `mapping` is unmapped after this, when the stored property goes.
    }
}

/// One buffer of the output's swapchain, with a pixman image over its CPU mapping.
package final class Framebuffer {
    package let width: Int32, height: Int32, stride: Int32
    package let data: UnsafeMutableRawPointer
    /// Keeps the mapping (and the exported fd) alive while this framebuffer is: a consumer may
    /// hold it past the backend.
    private let memory: FramebufferMemory
    package let image: OpaquePointer
    /// Set when the memory is a dma-buf (drm-dumb, udmabuf, dma-heap), nil for the memfd backend.
    package let export: DmabufExport?
    /// The frame number this buffer last received (0 = never), for buffer-age damage tracking.
    package var lastFrame: UInt64 = 0
    /// Consumers currently reading this buffer (export-dmabuf frames not yet destroyed): the
    /// compositor never renders into a held buffer.
    package var holds = 0

    /// A framebuffer at `offset` bytes into `memory`.
    package init(width: Int32, height: Int32, stride: Int32, memory: FramebufferMemory, offset: Int = 0, export: DmabufExport? = nil) {
        self.width = width
        self.height = height
        self.stride = stride
        self.memory = memory
        let data = memory.mapping.base + offset
        self.data = data
        self.export = export
        image = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, width, height, data.assumingMemoryBound(to: UInt32.self), stride)
    }

    deinit { pixman_image_unref(image) }

    /// Runs `body` with CPU access; a dma-buf is bracketed by DMA_BUF_IOCTL_SYNC START … END so
    /// the exporter keeps caches coherent with other devices. Only when the buffer polls ready:
    /// an export-dmabuf consumer holds the fd and can add a fence to it
    /// (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`), and SYNC(START) would sleep until that signals. The
    /// memory is compositord's own, so it is then accessed without the bracket instead.
    package func withCPUAccess<T>(write: Bool, _ body: () throws -> T) rethrows -> T {
        let direction = UInt64(write ? CDRM_SYNC_WRITE : CDRM_SYNC_READ)
        let sync = export.map { DmabufReadiness.isReady($0.fd, for: write ? .write : .read) } ?? false
        if sync, let export { _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(export.fd, UInt64(CDRM_SYNC_START) | direction)) }
        defer { if sync, let export { _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(export.fd, UInt64(CDRM_SYNC_END) | direction)) } }
        return try body()
    }

    /// The pixel at (x, y) as 0xXXRRGGBB.
    package func pixel(x: Int, y: Int) -> UInt32 {
        data.load(fromByteOffset: y * Int(stride) + x * 4, as: UInt32.self)
    }
}
