import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `wl_surface`: records requests into the pending state; `commit` applies it (see SurfaceState).
package final class WlSurface: ResourceHandler {
    private let state: CompositorState
    package let surface: Surface
    /// The wp_viewport object while it exists (its requests fill the pending state).
    package var viewport: Viewport?
    /// The wp_linux_drm_syncobj_surface_v1 while it exists: commits then carry explicit-sync points.
    package var syncobj: SyncobjSurface?

    package init(state: CompositorState, resource: OpaquePointer) {
        self.state = state
        surface = Surface(id: wl_resource_get_id(resource))
        surface.resource = resource
    }

    package func handle(_ request: Request) {
        switch WlSurfaceRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .attach(buffer, x, y)?:
            if request.version >= 5 && (x != 0 || y != 0) {
                return state.context.post(WlSurfaceError.invalidOffset, on: request.resource,
                                        "attach with a non-zero offset (\(x), \(y)); use wl_surface.offset since version 5")
            }
            let attached = buffer.flatMap { WlBuffer.buffer($0) }
            if let buffer, let shm = attached?.contents as? ShmBuffer, shm.captureOnly {
                // Reading a disk file could wait for the disk: `enforce` takes it only as a
                // screencopy target (written off the main thread). libwayland posts wl_shm's
                // invalid_fd on the wl_buffer too (a pool it cannot read).
                return state.context.post(WlShmError.invalidFd, on: buffer,
                                          "the pool is a disk file: only a screencopy target, never shown; send a memfd sealed with F_SEAL_SHRINK (\(shm.pool.file.typeName))")
            }
            surface.pending.attachment = .attached(attached)
            surface.pending.dx = x
            surface.pending.dy = y
        case let .damage(x, y, width, height)?:
            surface.pending.surfaceDamage.formUnion(Rect(x: x, y: y, width: width, height: height))
        case let .frame(callback)?:
            Resources.create(client: request.client, interface: cw_wl_callback_interface(), version: 1, id: callback) { r in
                let cb = FrameCallback(resource: r)
                surface.pending.frameCallbacks.append(cb)
                return cb
            }
        case let .setOpaqueRegion(region)?:
            surface.pending.opaqueRegion = region.flatMap { Resources.object($0, as: WlRegion.self)?.region } ?? Region()
        case let .setInputRegion(region)?:
            surface.pending.inputRegion = region.flatMap { Resources.object($0, as: WlRegion.self)?.region } ?? .infinite
        case .commit?:
            commit(request.resource)
        case let .setBufferTransform(transform)?:
            guard let t = BufferTransform(rawValue: transform) else {
                return state.context.post(WlSurfaceError.invalidTransform, on: request.resource,
                                        "buffer transform \(transform) is not a wl_output.transform value")
            }
            surface.pending.bufferTransform = t
        case let .setBufferScale(scale)?:
            guard scale >= 1 else {
                return state.context.post(WlSurfaceError.invalidScale, on: request.resource,
                                        "buffer scale \(scale) is not positive")
            }
            surface.pending.bufferScale = scale
        case let .damageBuffer(x, y, width, height)?:
            surface.pending.bufferDamage.formUnion(Rect(x: x, y: y, width: width, height: height))
        case let .offset(x, y)?:
            surface.pending.dx = x
            surface.pending.dy = y
        case nil: break
        }
    }

    private func commit(_ resource: OpaquePointer) {
        if case let .attached(buffer?) = surface.pending.attachment, wl_resource_get_version(resource) >= 6 {
            let scale = surface.pending.bufferScale ?? surface.current.bufferScale
            if buffer.width % scale != 0 || buffer.height % scale != 0 {
                return state.context.post(WlSurfaceError.invalidSize, on: resource,
                                        "buffer size \(buffer.width)x\(buffer.height) is not a multiple of buffer scale \(scale)")
            }
        }
        if let role = surface.role, !role.validateCommit(surface) { return }
        if let viewport, !viewport.validateCommit(surface) { return }
        var acquire: SyncobjPoint? = nil
        if let syncobj {
            let points = syncobj.takePoints(surface)
            guard points.ok else { return }
            acquire = points.acquire
        }
        state.delegate.commitWhenReady(surface, acquire: acquire)
    }

    package func resourceDestroyed() {
        state.delegate.surfaceDestroyed(surface)
        surface.resource = nil
        for cb in surface.pending.frameCallbacks { cb.cancel() }
        for feedback in surface.pending.presentationFeedbacks { feedback.discard() }
        surface.pending = SurfaceState()
        surface.role?.surfaceDestroyed(surface)
        state.scene.unmap(surface)
        // Its sub-surfaces lose their parent: they are unmapped (wl_subsurface spec).
        for item in surface.pendingStack + surface.currentStack {
            if case let .child(sub) = item { sub.surface?.role?.parentDestroyed() }
        }
        state.delegate.dropHeldCommits(surface)
        surface.dropCache()
        surface.current.buffer?.release()
        surface.current.buffer = nil
        state.scene.onLayoutChanged()
        // Last: the surface's holders saw it alive during the teardown above (as weak refs did).
        surface.markDestroyed()
        // The per-surface extension objects may outlive it (and hold it strongly in turn).
        viewport?.surfaceDestroyed()
        viewport = nil
        syncobj?.surfaceDestroyed()
        syncobj = nil
    }
}

extension Surface {
    /// A cache that can never be applied (the sub-surface or the surface is gone): its buffer,
    /// never shown, is released; its frame callbacks are dropped and its feedback discarded.
    package func dropCache() {
        guard let cache = cached else { return }
        if case let .attached(b?) = cache.attachment, b !== current.buffer { b.release() }
        for cb in cache.frameCallbacks { cb.cancel() }
        for feedback in cache.presentationFeedbacks { feedback.discard() }
        cached = nil
    }
}
