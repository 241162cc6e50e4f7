import CDRM
import Glibc
import Syscalls
import SystemPackage

/// The DRM device compositord uses for linux-drm-syncobj-v1 (explicit synchronisation): a node
/// whose driver has timeline syncobjs (`DRM_CAP_SYNCOBJ_TIMELINE`) on a kernel with
/// `DRM_IOCTL_SYNCOBJ_EVENTFD` (Linux 6.6), through which the event loop waits for a timeline
/// point without blocking. A client's syncobj fd imports into any such device: it names a kernel
/// synchronisation object, not memory of one device.
package final class SyncobjDevice {
    package let fd: FileDescriptor
    /// e.g. `/dev/dri/renderD129`.
    package let path: String
    /// The DRM driver's name, e.g. `virtio_gpu`.
    package let driver: String

    private init(fd: FileDescriptor, path: String, driver: String) {
        self.fd = fd
        self.path = path
        self.driver = driver
    }

    deinit { try? fd.close() }

    /// The first render node (then primary node) that qualifies; else nil, with why each node
    /// did not (empty when the machine has no DRM node at all).
    package static func open(driDirectory: String = "/dev/dri") -> (device: SyncobjDevice?, skipped: [String]) {
        let nodes = (128..<144).map { "\(driDirectory)/renderD\($0)" } + (0..<16).map { "\(driDirectory)/card\($0)" }
        var skipped: [String] = []
        for path in nodes where (try? Syscall.access(path, F_OK)) != nil {
            let raw: Int32
            do throws(Errno) { raw = try Syscall.open(path, O_RDWR | O_CLOEXEC) } catch {
                skipped.append("\(path): \(error)")
                continue
            }
            let fd = FileDescriptor(rawValue: raw)
            var driver = "?"
            if let v = drmGetVersion(raw) {
                driver = v.pointee.name.map { String(cString: $0) } ?? "?"
                drmFreeVersion(v)
            }
            if let why = unusable(raw) {
                skipped.append("\(path) (\(driver)): \(why)")
                try? fd.close()
                continue
            }
            return (SyncobjDevice(fd: fd, path: path, driver: driver), skipped)
        }
        return (nil, skipped)
    }

    /// Why the node cannot serve explicit sync, or nil when it can: timeline syncobjs, and an
    /// eventfd wait on a point (tried on a syncobj made for the purpose).
    private static func unusable(_ fd: Int32) -> String? {
        var cap: UInt64 = 0
        guard (try? valueOrErrno { drmGetCap(fd, UInt64(DRM_CAP_SYNCOBJ_TIMELINE), &cap) }) != nil, cap != 0 else { return "no timeline syncobjs" }
        var handle: UInt32 = 0
        do throws(Errno) { _ = try valueOrErrno { drmSyncobjCreate(fd, 0, &handle) } } catch { return "DRM_IOCTL_SYNCOBJ_CREATE: \(error)" }
        defer { _ = try? valueOrErrno { drmSyncobjDestroy(fd, handle) } }
        let event: Int32
        do throws(Errno) { event = try Syscall.eventfd() } catch { return "eventfd: \(error)" }
        defer { try? Syscall.close(event) }
        do throws(Errno) { _ = try valueOrNegatedErrno(cdrm_syncobj_eventfd(fd, handle, 1, event, 0)) } catch {
            return "DRM_IOCTL_SYNCOBJ_EVENTFD: \(error) (Linux 6.6 or later needed)"
        }
        return nil
    }
}

/// A client's timeline, imported (`wp_linux_drm_syncobj_manager_v1.import_timeline`). Points set
/// on it hold it, so it outlives its protocol object as the spec asks.
package final class SyncobjTimeline {
    package let device: SyncobjDevice
    package let handle: UInt32

    /// Imports `fd` (not closed here). Fails with the kernel's errno when `fd` is not a syncobj.
    package init(importing fd: Int32, on device: SyncobjDevice) throws(Errno) {
        var handle: UInt32 = 0
        // DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE only compares the file's operations: no file system is asked.
        _ = try valueOrErrno { drmSyncobjFDToHandle(device.fd.rawValue, fd, &handle) }
        self.device = device
        self.handle = handle
    }

    deinit { _ = try? valueOrErrno { drmSyncobjDestroy(device.fd.rawValue, handle) } }
}

/// One point of a timeline: an acquire point compositord waits for, or a release point it signals.
package struct SyncobjPoint {
    package let timeline: SyncobjTimeline
    package let value: UInt64

    package init(timeline: SyncobjTimeline, value: UInt64) {
        self.timeline = timeline
        self.value = value
    }

    /// Whether the point has signalled, without waiting (a zero, already-passed timeout; a point
    /// with no fence yet counts as not signalled).
    package var isSignalled: Bool {
        var handle = timeline.handle, point = value
        let flags = UInt32(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)
        // Unlike most of libdrm this returns -errno (older libdrm: +errno), never -1: only 0 is "signalled".
        return (try? valueOrNegatedErrno(drmSyncobjTimelineWait(timeline.device.fd.rawValue, &handle, &point, 1, 0, flags, nil))) == 0
    }

    /// Signals the point (the buffer is no longer read for the commit that set it).
    package func signal() {
        var handle = timeline.handle, point = value
        _ = try? valueOrErrno { drmSyncobjTimelineSignal(timeline.device.fd.rawValue, &handle, &point, 1) }
    }

    /// An eventfd that becomes readable once the point signals (at once if it has), for the event
    /// loop to watch; the caller owns it. nil when the kernel refuses.
    package func signalledEventfd() -> Int32? {
        guard let event = try? Syscall.eventfd() else { return nil }
        guard (try? valueOrNegatedErrno(cdrm_syncobj_eventfd(timeline.device.fd.rawValue, timeline.handle, value, event, 0))) != nil else {
            try? Syscall.close(event)
            return nil
        }
        return event
    }
}
