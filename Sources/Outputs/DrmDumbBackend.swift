import Buffers
import CDRM
import Glibc
import Syscalls
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// The primary backend: DRM dumb buffers on a /dev/dri/card* node, each exported once as a
/// dma-buf (PRIME), so consumers take frames by fd with zero copies. No peer does this headless:
/// Weston headless renders into malloc memory, wlroots headless into shm.
package final class DrmDumbBackend: OutputBackend {
    package let kind = "drm-dumb"
    package let device: String?
    package let width: Int32, height: Int32
    package private(set) var framebuffers: [Framebuffer] = []
    /// The device node, open while the backend or any of its dumb buffers lives (each buffer's
    /// memory destroys its handle on it last).
    private let drm: DrmNode

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(device path: String, width: Int32, height: Int32, count: Int) throws {
        device = path
        self.width = width
        self.height = height
        let fd: Int32
        do throws(Errno) { fd = try Syscall.open(path, O_RDWR | O_CLOEXEC) } catch { throw Failure(description: "cannot open: \(error)") }
        drm = DrmNode(fd)
        // Render nodes cannot create dumb buffers; a primary node says so with the cap. vgem
        // answers the query with EOPNOTSUPP yet creates dumb buffers, so only a clear "no" stops us.
        var cap: UInt64 = 0
        if (try? valueOrErrno { drmGetCap(fd, UInt64(DRM_CAP_DUMB_BUFFER), &cap) }) != nil && cap == 0 {
            throw Failure(description: "DRM_CAP_DUMB_BUFFER is not set")
        }
        // On a failure the framebuffers made so far go with this half-made backend, and their
        // memory (and the node, last) with them.
        for _ in 0..<count { try addFramebuffer() }
    }

    private func addFramebuffer() throws {
        var dumb = cdrm_dumb()
        do throws(Errno) { _ = try valueOrNegatedErrno(cdrm_create_dumb(drm.fd, UInt32(width), UInt32(height), 32, &dumb)) } catch {
            throw Failure(description: "DRM_IOCTL_MODE_CREATE_DUMB: \(error)")
        }
        var offset: UInt64 = 0
        do throws(Errno) { _ = try valueOrNegatedErrno(cdrm_map_dumb(drm.fd, dumb.handle, &offset)) } catch {
            destroyDumb(dumb.handle)
            throw Failure(description: "DRM_IOCTL_MODE_MAP_DUMB: \(error)")
        }
        let mapping: Mapping
        do throws(Errno) {
            mapping = try Mapping(fd: drm.fd, length: Int(dumb.size), writable: true, offset: off_t(offset))
        } catch {
            destroyDumb(dumb.handle)
            throw Failure(description: "mmap of the dumb buffer: \(error)")
        }
        var prime: Int32 = -1
        do throws(Errno) { _ = try valueOrErrno { drmPrimeHandleToFD(drm.fd, dumb.handle, UInt32(O_CLOEXEC | O_RDWR), &prime) } } catch {
            destroyDumb(dumb.handle)  // `mapping` is unmapped as it goes out of scope
            throw Failure(description: "drmPrimeHandleToFD: \(error)")
        }
        let memory = FramebufferMemory(mapping, closing: [prime]) { [drm, handle = dumb.handle] in DrmDumbBackend.destroyDumb(drm, handle) }
        let export = DmabufExport(fd: prime, size: Int(dumb.size), offset: 0, stride: dumb.pitch, modifier: drmFormatModLinear)
        framebuffers.append(Framebuffer(width: width, height: height, stride: Int32(dumb.pitch), memory: memory, export: export))
    }

    /// DRM_IOCTL_MODE_DESTROY_DUMB; nothing to do when it fails.
    private func destroyDumb(_ handle: UInt32) { DrmDumbBackend.destroyDumb(drm, handle) }

    private static func destroyDumb(_ drm: DrmNode, _ handle: UInt32) {
        _ = try? valueOrNegatedErrno(cdrm_destroy_dumb(drm.fd, handle))
    }
}

/// An open DRM device node, closed when the last user goes.
private final class DrmNode {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { try? Syscall.close(fd) }
}
