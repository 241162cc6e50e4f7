import CDRM
import Glibc
import SystemPackage

/// An unsignalled fence made with vgem, attachable to any dma-buf: for testing how a compositor
/// treats a buffer whose fences have not signalled (a GPU still rendering into it, or a hostile
/// client). vgem (`modprobe vgem`) makes a fence on one of its own buffer objects
/// (`DRM_IOCTL_VGEM_FENCE_ATTACH`); `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` takes it out as a sync_file
/// and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE` adds it to the target dma-buf as a writer's fence (Linux
/// 6.0+). Until `signal()`, `DMA_BUF_IOCTL_SYNC(START)` on the target waits, and the target does
/// not poll readable. vgem signals an unsignalled fence by itself after 10 s.
public final class VgemFence {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let card: FileDescriptor
    private let handle: UInt32
    private let fence: UInt32
    /// The sync_file of the fence.
    private let syncFile: Int32
    public private(set) var isSignalled = false
    /// The vgem card used, e.g. `/dev/dri/card0`.
    public let device: String

    /// Opens the first vgem card in `driDirectory`, makes a one-page buffer and attaches an
    /// unsignalled write fence to it.
    public init(driDirectory: String = "/dev/dri") throws(Failure) {
        let cards: [(number: Int, name: String)]
        do throws(Errno) { cards = try DmaBuf.cardNodes(in: driDirectory) } catch { throw Failure(description: "\(driDirectory): \(error)") }
        var found: (FileDescriptor, String)?
        for c in cards {
            let path = "\(driDirectory)/\(c.name)"
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if let v = drmGetVersion(fd) {
                let name = v.pointee.name.map { String(cString: $0) } ?? ""
                drmFreeVersion(v)
                if name == "vgem" { found = (FileDescriptor(rawValue: fd), path); break }
            }
            close(fd)
        }
        guard let (card, path) = found else { throw Failure(description: "no vgem card in \(driDirectory) (modprobe vgem)") }
        var dumb = cdrm_dumb()
        var r = cdrm_create_dumb(card.rawValue, 1024, 1, 32, &dumb)
        guard r == 0 else { try? card.close(); throw Failure(description: "vgem CREATE_DUMB: \(Errno(rawValue: -r))") }
        var fence: UInt32 = 0
        r = cdrm_vgem_fence_attach(card.rawValue, dumb.handle, 1, &fence)
        guard r == 0 else { try? card.close(); throw Failure(description: "DRM_IOCTL_VGEM_FENCE_ATTACH: \(Errno(rawValue: -r))") }
        var prime: Int32 = -1
        guard drmPrimeHandleToFD(card.rawValue, dumb.handle, UInt32(O_CLOEXEC | O_RDWR), &prime) == 0, prime >= 0 else {
            let e = Errno.current
            _ = cdrm_vgem_fence_signal(card.rawValue, fence)
            try? card.close()
            throw Failure(description: "drmPrimeHandleToFD on vgem: \(e)")
        }
        let sync = cdrm_dmabuf_export_sync_file(prime, UInt32(CDRM_SYNC_READ))
        close(prime)
        guard sync >= 0 else {
            _ = cdrm_vgem_fence_signal(card.rawValue, fence)
            try? card.close()
            throw Failure(description: "DMA_BUF_IOCTL_EXPORT_SYNC_FILE: \(Errno(rawValue: -sync))")
        }
        self.card = card
        self.handle = dumb.handle
        self.fence = fence
        self.syncFile = sync
        self.device = path
    }

    /// Adds the fence to `dmabuf` as a writer's fence: readers and writers of it now wait.
    public func attach(to dmabuf: FileDescriptor) throws(Failure) {
        let r = cdrm_dmabuf_import_sync_file(dmabuf.rawValue, syncFile, UInt32(CDRM_SYNC_WRITE))
        guard r == 0 else { throw Failure(description: "DMA_BUF_IOCTL_IMPORT_SYNC_FILE: \(Errno(rawValue: -r))") }
    }

    /// Whether the fence has signalled (vgem's own 10 s timeout included): the sync_file polls readable.
    public var hasSignalled: Bool {
        var p = pollfd(fd: syncFile, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 1
    }

    /// Signals the fence (`DRM_IOCTL_VGEM_FENCE_SIGNAL`). ETIMEDOUT (vgem signalled it already) is fine.
    public func signal() throws(Failure) {
        guard !isSignalled else { return }
        isSignalled = true
        let r = cdrm_vgem_fence_signal(card.rawValue, fence)
        guard r == 0 || r == -ETIMEDOUT else { throw Failure(description: "DRM_IOCTL_VGEM_FENCE_SIGNAL: \(Errno(rawValue: -r))") }
    }

    deinit {
        try? signal()
        close(syncFile)
        _ = cdrm_destroy_dumb(card.rawValue, handle)
        try? card.close()
    }
}
