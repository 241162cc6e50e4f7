import Buffers
import CWayland
import Glibc
import SystemPackage
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wp_linux_drm_syncobj_manager_v1` (linux-drm-syncobj-v1, explicit synchronisation): clients
/// import DRM syncobj timelines and, per surface, name the point compositord waits for before it
/// reads a committed dma-buf (acquire) and the point it signals once it no longer reads it
/// (release). Advertised only where `SyncobjDevice` found a device (docs/robustness/fences.md).
package final class LinuxDrmSyncobjManager: ResourceHandler {
    package static let version: UInt32 = 1
    private unowned let context: ProtocolContext
    private let device: SyncobjDevice

    package init(context: ProtocolContext, device: SyncobjDevice) {
        self.context = context
        self.device = device
    }

    package static func bind(_ context: ProtocolContext, _ device: SyncobjDevice, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wp_linux_drm_syncobj_manager_v1_interface(), version: version, id: id) { _ in
            LinuxDrmSyncobjManager(context: context, device: device)
        }
    }

    package func handle(_ request: Request) {
        switch WpLinuxDrmSyncobjManagerV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .getSurface(id, surfaceResource)?:
            guard let wlSurface = Resources.object(surfaceResource, as: WlSurface.self) else { return }
            let surface = wlSurface.surface
            if wlSurface.syncobj != nil {
                return context.post(WpLinuxDrmSyncobjManagerV1Error.surfaceExists, on: request.resource,
                                        "wl_surface@\(surface.id) already has a wp_linux_drm_syncobj_surface_v1 (EGL or Vulkan may have made it)")
            }
            Resources.create(client: request.client, interface: cw_wp_linux_drm_syncobj_surface_v1_interface(), version: 1, id: id) { r in
                let object = SyncobjSurface(context: context, resource: r, surface: wlSurface)
                wlSurface.syncobj = object
                return object
            }
        case let .importTimeline(id, fd)?:
            defer { ReceivedFd.close(fd) }  // the imported handle holds the syncobj
            let timeline: SyncobjTimeline
            do throws(Errno) {
                timeline = try SyncobjTimeline(importing: fd, on: device)
            } catch {
                return context.post(WpLinuxDrmSyncobjManagerV1Error.invalidTimeline, on: request.resource,
                                        "the fd is not a DRM syncobj (\(error)): export one with drmSyncobjHandleToFD")
            }
            Resources.create(client: request.client, interface: cw_wp_linux_drm_syncobj_timeline_v1_interface(), version: 1, id: id) { _ in
                SyncobjTimelineObject(timeline: timeline)
            }
        case nil: break
        }
    }
}

/// `wp_linux_drm_syncobj_timeline_v1`: destroying it leaves points already set in place (they
/// hold the imported timeline).
package final class SyncobjTimelineObject: ResourceHandler {
    package let timeline: SyncobjTimeline
    package init(timeline: SyncobjTimeline) { self.timeline = timeline }

    package func handle(_ request: Request) {
        if case .destroy? = WpLinuxDrmSyncobjTimelineV1Request(request) { wl_resource_destroy(request.resource) }
    }
}

/// `wp_linux_drm_syncobj_surface_v1`: the acquire and release points of the next commit. The
/// commit checks them (`takePoints`): the release point goes with the buffer (`Buffer.release`
/// signals it), the acquire point holds the commit until it signals (HeldCommits.swift).
package final class SyncobjSurface: ResourceHandler {
    private unowned let context: ProtocolContext
    private var resource: OpaquePointer?
    /// Strong, like Viewport's; nil once the wl_surface is destroyed (requests are then no_surface).
    private var wlSurface: WlSurface?
    private var surface: Surface? { wlSurface?.surface }
    private var acquire: SyncobjPoint?
    private var release: SyncobjPoint?

    package init(context: ProtocolContext, resource: OpaquePointer, surface: WlSurface) {
        self.context = context
        self.resource = resource
        wlSurface = surface
    }

    package func handle(_ request: Request) {
        let decoded = WpLinuxDrmSyncobjSurfaceV1Request(request)
        if case .destroy? = decoded { return wl_resource_destroy(request.resource) }
        guard let surface, !surface.isDestroyed else {
            return context.post(WpLinuxDrmSyncobjSurfaceV1Error.noSurface, on: request.resource,
                                    "the wl_surface of this wp_linux_drm_syncobj_surface_v1 was destroyed")
        }
        switch decoded {
        case let .setAcquirePoint(timeline, pointHi, pointLo)?:
            if let point = syncobjPoint(timeline, pointHi, pointLo) { acquire = point }
        case let .setReleasePoint(timeline, pointHi, pointLo)?:
            if let point = syncobjPoint(timeline, pointHi, pointLo) { release = point }
        case .destroy?, nil: break
        }
    }

    /// The point a set_acquire_point or set_release_point names; nil when the timeline is not one
    /// compositord created.
    private func syncobjPoint(_ timeline: OpaquePointer, _ hi: UInt32, _ lo: UInt32) -> SyncobjPoint? {
        guard let timeline = Resources.object(timeline, as: SyncobjTimelineObject.self)?.timeline else { return nil }
        return SyncobjPoint(timeline: timeline, value: UInt64(hi) << 32 | UInt64(lo))
    }

    /// What a commit of `surface` does with the points set since the last one: the acquire
    /// point to wait for (nil when no buffer is attached), or false after a protocol error.
    package func takePoints(_ surface: Surface) -> (ok: Bool, acquire: SyncobjPoint?) {
        guard let resource else { return (true, nil) }
        let (acquire, release) = (self.acquire, self.release)
        self.acquire = nil
        self.release = nil
        guard case let .attached(buffer?) = surface.pending.attachment else {
            if acquire != nil || release != nil {
                let which = acquire != nil && release != nil ? "acquire and release points" : acquire != nil ? "an acquire point" : "a release point"
                context.post(WpLinuxDrmSyncobjSurfaceV1Error.noBuffer, on: resource,
                                 "\(which) set but no buffer attached in this commit: set points only with a wl_surface.attach")
                return (false, nil)
            }
            return (true, nil)
        }
        guard buffer.contents is DmabufBuffer else {
            context.post(WpLinuxDrmSyncobjSurfaceV1Error.unsupportedBuffer, on: resource,
                             "a wl_shm buffer on a surface with explicit sync: attach linux-dmabuf buffers, or destroy this object first")
            return (false, nil)
        }
        guard let acquire else {
            context.post(WpLinuxDrmSyncobjSurfaceV1Error.noAcquirePoint, on: resource,
                             "a buffer attached without an acquire point: call set_acquire_point before every commit with a buffer")
            return (false, nil)
        }
        guard let release else {
            context.post(WpLinuxDrmSyncobjSurfaceV1Error.noReleasePoint, on: resource,
                             "a buffer attached without a release point: call set_release_point before every commit with a buffer")
            return (false, nil)
        }
        if acquire.timeline === release.timeline && release.value <= acquire.value {
            context.post(WpLinuxDrmSyncobjSurfaceV1Error.conflictingPoints, on: resource,
                             "release point \(release.value) is not after acquire point \(acquire.value) on the same timeline")
            return (false, nil)
        }
        buffer.releasePoints.append(release)
        return (true, acquire)
    }

    /// The wl_surface was destroyed (WlSurface.resourceDestroyed).
    package func surfaceDestroyed() { wlSurface = nil }

    package func resourceDestroyed() {
        resource = nil
        // Points set since the last commit are discarded; the surface is implicitly synced again.
        acquire = nil
        release = nil
        if let wlSurface, wlSurface.syncobj === self { wlSurface.syncobj = nil }
        wlSurface = nil
    }
}
