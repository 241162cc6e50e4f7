import Buffers
import SurfaceModel

/// Whoever tells the client that a buffer is free again: the `wl_buffer` object (Protocols) while
/// its resource exists. The scene only says when.
package protocol BufferReleaseSink: AnyObject {
    /// `wl_buffer.release`.
    func sendRelease()
    /// The `wl_buffer` resource (opaque here: the layers above post errors on it), while it exists.
    var resource: OpaquePointer? { get }
}

/// A client buffer as the scene shows it: the pixels (`contents`, from the Buffers layer), and
/// when to give it back.
///
/// Created by `wl_shm_pool.create_buffer` or `zwp_linux_buffer_params_v1` with its `wl_buffer`;
/// the wl_buffer may be destroyed while a surface still shows the buffer: the contents stay
/// readable (they keep their pool alive) and `release` then has no one to tell.
package final class Buffer {
    package let contents: ClientBuffer
    /// The wl_buffer's side, until its resource is destroyed (which cuts this link: the two
    /// hold each other strongly, no weak reference on the per-commit path).
    package var sink: BufferReleaseSink?
    /// Replaced by a commit; `release` goes out with the next frame (Server.releaseAfterFrame).
    package var releasePending = false
    /// Explicit-sync release points (linux-drm-syncobj-v1) of the commits that attached this
    /// buffer since its last release: signalled with the release, or when the buffer goes away.
    package var releasePoints: [SyncobjPoint] = []
    /// As a capture target: the output frame (`FrameInfo.sequence`) and region last copied into
    /// it whole and correctly, so the next copy into it writes only what changed since (its
    /// buffer age). nil: unknown, the next copy writes everything.
    package var capturedFrame: (sequence: UInt64, region: Rect)?

    package init(contents: ClientBuffer) { self.contents = contents }

    deinit { signalReleasePoints() }

    /// `wl_buffer.release`: the compositor will not read this buffer again until re-attached.
    package func release() {
        sink?.sendRelease()
        signalReleasePoints()
    }

    private func signalReleasePoints() {
        guard !releasePoints.isEmpty else { return }
        for point in releasePoints { point.signal() }
        releasePoints.removeAll()
    }

    /// The wl_buffer resource while it exists (errors about the buffer are posted on it).
    package var resource: OpaquePointer? { sink?.resource }
    package var width: Int32 { contents.width }
    package var height: Int32 { contents.height }
}
