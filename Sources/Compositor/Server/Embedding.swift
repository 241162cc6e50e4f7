import Buffers
import CWayland
import Glibc
import Syscalls
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Running a `Server` inside another program (the wlcs integration module, in-process tests):
/// calls from other threads, and clients connected over sockets the embedder made.
///
/// The server itself stays single-threaded: `perform` is the only entry point that may be called
/// from any thread, and it runs the work on the server's thread.
extension Server {
    /// Runs `body` on the server's thread and blocks the caller until it has run and every
    /// client's queued events were flushed, so a client reading its socket next sees them.
    ///
    /// Thread-safe. Called on the server's own thread (the one that created the server) it runs
    /// `body` at once. Returns false, without running `body`, once the server has shut down.
    @discardableResult
    public func perform(_ body: @escaping () -> Void) -> Bool {
        crossThread.perform(body)
    }

    /// Connects a client over one end of a connected stream socket the embedder made (wlcs
    /// makes a socketpair instead of connecting to a named socket). The server owns `fd` from
    /// now on, even on failure (it is then closed). `onDestroy` runs on the server's thread once
    /// the client has gone, however it went (it hung up, a protocol error, server shutdown).
    /// Returns the server-side wl_client. Server thread only.
    public func connectClient(socket fd: Int32, onDestroy: @escaping (_ client: OpaquePointer) -> Void) -> OpaquePointer? {
        guard let client = wl_client_create(display, fd) else {
            // wl_client_create leaves the fd open when it fails (except after an allocation
            // failure late in it, which we accept).
            try? Syscall.close(fd)
            return nil
        }
        // The listener keeps itself alive (through `hook`) until the client is destroyed; the
        // destroy signal fires exactly once, also for clients dropped at shutdown.
        final class Hook { var listener: Listener? }
        let hook = Hook()
        let listener = Listener { _ in
            let done = hook.listener
            hook.listener = nil
            withExtendedLifetime(done) { onDestroy(client) }
        }
        hook.listener = listener
        listener.listen(toClientDestroy: client)
        return client
    }
}
