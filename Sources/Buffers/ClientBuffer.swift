import CPixman

/// Pixels a client handed over that the renderer may read: a wl_shm buffer (`ShmBuffer`) or an
/// imported dma-buf (`DmabufBuffer`).
package protocol ClientBuffer: AnyObject {
    var width: Int32 { get }
    var height: Int32 { get }
    /// False for X-formats: the renderer may then use SRC instead of OVER.
    var hasAlpha: Bool { get }
    /// Runs `body` with a pixman image over the client's pixels, valid only inside `body`.
    /// Every read of client memory happens in here, so a buffer that needs the SIGBUS guard can
    /// wrap the read in it.
    func withImage(_ body: (OpaquePointer) -> Void) -> BufferRead
    /// Whether the memory behind the buffer could shrink under it (an unsealed wl_shm pool file):
    /// on-demand compositing then checks it at the latch (Server.attachedForLatch).
    var canShrink: Bool { get }
    /// Whether it has shrunk: the file no longer covers the buffer. Asked only when `canShrink`.
    var fileShrank: Bool { get }
    /// The fd whose implicit fences say when the pixels are ready (a dma-buf's), or nil for
    /// memory that is always ready: a commit of a buffer that is not ready is held (HeldCommits).
    var fenceFd: Int32? { get }
    /// A capture target only (a wl_shm pool on a disk file under `enforce`): never shown.
    var captureOnly: Bool { get }
}

extension ClientBuffer {
    package var canShrink: Bool { false }
    package var fileShrank: Bool { false }
    package var fenceFd: Int32? { nil }
    package var captureOnly: Bool { false }
}

/// How reading a client buffer went.
package enum BufferRead: Equatable {
    case read
    /// The pixels cannot be wrapped (e.g. pixman refused the layout); nothing was drawn.
    case unreadable
    /// The client shrank its file under the read: the guard caught SIGBUS, zeros were read, and
    /// the client must get `wl_shm.error.invalid_fd`.
    case faulted
}
