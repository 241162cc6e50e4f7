import Buffers
import CWayland

/// A `wl_buffer`: client pixels (`contents`) plus the resource to send `release` on.
///
/// Whatever created it (wl_shm_pool.create_buffer, zwp_linux_buffer_params_v1) supplies the contents.
/// The resource may be destroyed while a surface still shows the buffer: the contents stay
/// readable (they keep their pool alive) and `release` then has no one to tell.
final class Buffer: ResourceHandler {
    let contents: ClientBuffer
    private(set) var resource: OpaquePointer?
    /// Replaced by a commit; `release` goes out with the next frame (Server.releaseAfterFrame).
    var releasePending = false

    init(resource: OpaquePointer?, contents: ClientBuffer) {
        self.resource = resource
        self.contents = contents
    }

    /// Explicit-sync release points (linux-drm-syncobj-v1) of the commits that attached this
    /// buffer since its last release: signalled with the release, or when the buffer goes away.
    var releasePoints: [SyncobjPoint] = []

    /// `wl_buffer.release`: the compositor will not read this buffer again until re-attached.
    func release() {
        if let resource { wl_buffer_send_release(resource) }
        signalReleasePoints()
    }

    private func signalReleasePoints() {
        guard !releasePoints.isEmpty else { return }
        for point in releasePoints { point.signal() }
        releasePoints.removeAll()
    }

    deinit { signalReleasePoints() }

    func handle(_ request: Request) {
        // wl_buffer has one request: destroy.
        wl_resource_destroy(request.resource)
    }

    func resourceDestroyed() { resource = nil }

    var width: Int32 { contents.width }
    var height: Int32 { contents.height }
}
