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
    private let drm: FileDescriptor
    private var dumbs: [(handle: UInt32, mapping: UnsafeMutableRawPointer, size: Int, prime: Int32)] = []

    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package init(device path: String, width: Int32, height: Int32, count: Int) throws {
        device = path
        self.width = width
        self.height = height
        let fd: Int32
        do throws(Errno) { fd = try Syscall.open(path, O_RDWR | O_CLOEXEC) } catch { throw Failure(description: "cannot open: \(error)") }
        drm = FileDescriptor(rawValue: fd)
        // Render nodes cannot create dumb buffers; a primary node says so with the cap. vgem
        // answers the query with EOPNOTSUPP yet creates dumb buffers, so only a clear "no" stops us.
        var cap: UInt64 = 0
        if (try? valueOrErrno { drmGetCap(fd, UInt64(DRM_CAP_DUMB_BUFFER), &cap) }) != nil && cap == 0 {
            try? drm.close()
            throw Failure(description: "DRM_CAP_DUMB_BUFFER is not set")
        }
        do {
            for _ in 0..<count { try addFramebuffer() }
        } catch {
            release()
            throw error
        }
    }

    private func addFramebuffer() throws {
        var dumb = cdrm_dumb()
        do throws(Errno) { _ = try valueOrNegatedErrno(cdrm_create_dumb(drm.rawValue, UInt32(width), UInt32(height), 32, &dumb)) } catch {
            throw Failure(description: "DRM_IOCTL_MODE_CREATE_DUMB: \(error)")
        }
        var offset: UInt64 = 0
        do throws(Errno) { _ = try valueOrNegatedErrno(cdrm_map_dumb(drm.rawValue, dumb.handle, &offset)) } catch {
            destroyDumb(dumb.handle)
            throw Failure(description: "DRM_IOCTL_MODE_MAP_DUMB: \(error)")
        }
        let m: UnsafeMutableRawPointer
        do throws(Errno) {
            m = try Syscall.mmap(length: Int(dumb.size), protection: PROT_READ | PROT_WRITE, fd: drm.rawValue, offset: off_t(offset))
        } catch {
            destroyDumb(dumb.handle)
            throw Failure(description: "mmap of the dumb buffer: \(error)")
        }
        var prime: Int32 = -1
        do throws(Errno) { _ = try valueOrErrno { drmPrimeHandleToFD(drm.rawValue, dumb.handle, UInt32(O_CLOEXEC | O_RDWR), &prime) } } catch {
            try? Syscall.munmap(m, Int(dumb.size))
            destroyDumb(dumb.handle)
            throw Failure(description: "drmPrimeHandleToFD: \(error)")
        }
        dumbs.append((dumb.handle, m, Int(dumb.size), prime))
        let export = DmabufExport(fd: prime, size: Int(dumb.size), offset: 0, stride: dumb.pitch, modifier: drmFormatModLinear)
        framebuffers.append(Framebuffer(width: width, height: height, stride: Int32(dumb.pitch), data: m, export: export))
    }

    /// DRM_IOCTL_MODE_DESTROY_DUMB; nothing to do when it fails.
    private func destroyDumb(_ handle: UInt32) { _ = try? valueOrNegatedErrno(cdrm_destroy_dumb(drm.rawValue, handle)) }

    private func release() {
        framebuffers = []
        for d in dumbs {
            try? Syscall.munmap(d.mapping, d.size)
            try? Syscall.close(d.prime)
            destroyDumb(d.handle)
        }
        dumbs = []
        try? drm.close()
    }

    deinit { if !dumbs.isEmpty || drm.rawValue >= 0 { release() } }
}
