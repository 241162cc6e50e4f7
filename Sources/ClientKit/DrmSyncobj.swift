import CDRM
import CWayland
import Glibc
import SystemPackage

/// A DRM timeline syncobj of the client's own, as a GPU driver makes for explicit sync: points
/// on it are signalled by the client (`signal`) or by the compositor (release points), and it is
/// shared with the compositor as an fd (`exportedFD`). Needs a DRM node whose driver has
/// timeline syncobjs (virtio-gpu, i915, amdgpu, ...; not vgem).
public final class DrmSyncobjTimeline {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let node: FileDescriptor
    private let handle: UInt32
    /// The DRM node used, e.g. `/dev/dri/renderD129`.
    public let device: String

    /// Makes a timeline on the first DRM node in `driDirectory` with timeline syncobjs.
    public init(driDirectory: String = "/dev/dri") throws(Failure) {
        let names = (128..<144).map { "renderD\($0)" } + (0..<16).map { "card\($0)" }
        for name in names {
            let path = "\(driDirectory)/\(name)"
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var cap: UInt64 = 0
            var handle: UInt32 = 0
            if drmGetCap(fd, UInt64(DRM_CAP_SYNCOBJ_TIMELINE), &cap) == 0, cap != 0, drmSyncobjCreate(fd, 0, &handle) == 0 {
                node = FileDescriptor(rawValue: fd)
                self.handle = handle
                device = path
                return
            }
            close(fd)
        }
        throw Failure(description: "no DRM node with timeline syncobjs in \(driDirectory) (virtio-gpu, i915, amdgpu... have them; vgem does not)")
    }

    deinit {
        _ = drmSyncobjDestroy(node.rawValue, handle)
        try? node.close()
    }

    /// A new fd for the syncobj (for `wp_linux_drm_syncobj_manager_v1.import_timeline`); the
    /// caller closes it.
    public func exportedFD() throws(Failure) -> FileDescriptor {
        var fd: Int32 = -1
        guard drmSyncobjHandleToFD(node.rawValue, handle, &fd) == 0, fd >= 0 else {
            throw Failure(description: "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: \(Errno.current)")
        }
        return FileDescriptor(rawValue: fd)
    }

    /// Signals `point` (and every earlier one), as a GPU finishing its rendering would.
    public func signal(_ point: UInt64) throws(Failure) {
        var h = handle, p = point
        let r = drmSyncobjTimelineSignal(node.rawValue, &h, &p, 1)
        guard r == 0 else { throw Failure(description: "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL: \(Errno.current)") }
    }

    /// Whether `point` has signalled, without waiting.
    public func isSignalled(_ point: UInt64) -> Bool {
        var h = handle, p = point
        let flags = UInt32(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)
        return drmSyncobjTimelineWait(node.rawValue, &h, &p, 1, 0, flags, nil) == 0
    }
}

/// `wp_linux_drm_syncobj_manager_v1` (explicit sync) and its per-surface objects.
/// The objects it makes hold it, and it holds the connection: none outlives the wl_display.
public final class LinuxDrmSyncobj {
    public let context: ClientContext
    let proxy: OpaquePointer

    /// Binds the global. Throws `ClientError.missingGlobal` where the compositor does not offer it.
    public init(context: ClientContext) throws {
        self.context = context
        proxy = try context.registry.bind("wp_linux_drm_syncobj_manager_v1", table: cw_wp_linux_drm_syncobj_manager_v1_interface(), maxVersion: 1).proxy
    }

    deinit { wp_linux_drm_syncobj_manager_v1_destroy(proxy) }

    /// `import_timeline` with `fd` (not closed here: libwayland sends a duplicate).
    public func importTimeline(_ fd: FileDescriptor) -> Timeline {
        Timeline(manager: self, proxy: wp_linux_drm_syncobj_manager_v1_import_timeline(proxy, fd.rawValue))
    }

    /// `get_surface`: explicit sync for `surface`.
    public func surface(for surface: Surface) -> SyncSurface {
        SyncSurface(manager: self, proxy: wp_linux_drm_syncobj_manager_v1_get_surface(proxy, surface.proxy))
    }

    /// A `wp_linux_drm_syncobj_timeline_v1`.
    public final class Timeline {
        let manager: LinuxDrmSyncobj
        let proxy: OpaquePointer
        init(manager: LinuxDrmSyncobj, proxy: OpaquePointer) { self.manager = manager; self.proxy = proxy }
        deinit { wp_linux_drm_syncobj_timeline_v1_destroy(proxy) }
    }

    /// A `wp_linux_drm_syncobj_surface_v1`: the points of the next commit.
    public final class SyncSurface {
        let manager: LinuxDrmSyncobj
        let proxy: OpaquePointer
        init(manager: LinuxDrmSyncobj, proxy: OpaquePointer) { self.manager = manager; self.proxy = proxy }
        deinit { wp_linux_drm_syncobj_surface_v1_destroy(proxy) }

        public func setAcquirePoint(_ timeline: Timeline, _ point: UInt64) {
            wp_linux_drm_syncobj_surface_v1_set_acquire_point(proxy, timeline.proxy, UInt32(point >> 32), UInt32(truncatingIfNeeded: point))
        }

        public func setReleasePoint(_ timeline: Timeline, _ point: UInt64) {
            wp_linux_drm_syncobj_surface_v1_set_release_point(proxy, timeline.proxy, UInt32(point >> 32), UInt32(truncatingIfNeeded: point))
        }
    }
}
