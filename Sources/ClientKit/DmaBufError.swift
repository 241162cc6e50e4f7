import CDRM
import CWayland
import Glibc
import SystemPackage

extension DmaBuf {
    // MARK: Explaining errnos

    /// What an `open` failure means for each kind of device.
    static func openHint(device: String, path: String, errno: Errno) -> String? {
        switch (device, errno) {
        case ("udmabuf", .noSuchFileOrDirectory):
            return "no udmabuf device (kernel without CONFIG_UDMABUF, or the udmabuf module is not loaded)"
        case ("heap", .noSuchFileOrDirectory):
            return "no system dma-heap (kernel without CONFIG_DMABUF_HEAPS_SYSTEM)"
        case ("dri", .noSuchFileOrDirectory):
            return "no DRM device (no GPU driver loaded; `modprobe vgem` adds a virtual one)"
        case (_, .permissionDenied), (_, .notPermitted):
            return "no permission to open \(path) read-write (root, or the device's group)"
        default:
            return nil
        }
    }

    /// What the kernel means by each `UDMABUF_CREATE` errno (drivers/dma-buf/udmabuf.c), made
    /// specific with what is known about the request: the memfd's seals (`F_GET_SEALS`, or nil),
    /// its size and the module's `size_limit_mb`.
    public static func udmabufCreateHint(errno: Errno, seals: Int32?, size: Int, pageSize: Int, sizeLimitMB: Int?) -> String? {
        switch errno.rawValue {
        case EINVAL:
            if let seals, seals >= 0 {
                let shown = "F_GET_SEALS 0x" + String(seals, radix: 16)
                if seals & Int32(CW_F_SEAL_SHRINK) == 0 { return "the memfd lacks F_SEAL_SHRINK (\(shown))" }
                if seals & Int32(CW_F_SEAL_WRITE) != 0 { return "the memfd carries F_SEAL_WRITE, which udmabuf rejects (\(shown))" }
            }
            if size % pageSize != 0 { return "the size \(size) is not a multiple of the page size \(pageSize)" }
            if let sizeLimitMB, size > sizeLimitMB * 1024 * 1024 {
                return "\(size) bytes exceeds udmabuf's size_limit_mb=\(sizeLimitMB)"
            }
            return "the memfd lacks F_SEAL_SHRINK or carries F_SEAL_WRITE, or the offset or size is not page-aligned, "
                + "lies beyond the memfd or exceeds udmabuf's size_limit_mb"
        case EBADFD:
            return "the descriptor is not a memfd (udmabuf takes shmem or hugetlbfs files only)"
        case EBADF:
            return "the memfd descriptor is not open"
        case ENOTTY:
            return "the device does not know UDMABUF_CREATE (not a udmabuf device)"
        case ENOMEM:
            return "out of memory pinning the memfd's pages"
        default:
            return nil
        }
    }
}

/// No strategy could make the dma-buf. Lists every attempt, in order.
public struct DmaBufError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was asked for (`automatic` for the whole chain).
    public var requested: DmaBuf.Strategy
    /// One entry per strategy tried, in order.
    public var attempts: [DmaBuf.Attempt]

    public init(requested: DmaBuf.Strategy, attempts: [DmaBuf.Attempt]) {
        self.requested = requested
        self.attempts = attempts
    }

    public var description: String {
        "cannot allocate a dma-buf (\(requested)): " + attempts.map(\.description).joined(separator: "; ")
    }
}
