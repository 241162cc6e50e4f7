import Compositor
import CWayland
import Glibc

/// Clients wlcs connects through `create_client_socket`: the server end of each socketpair
/// becomes a wl_client, and the client end's fd number finds it again later
/// (`position_window_absolute` gets only the client-side wl_display).
///
/// Touched only on the server thread (inside `ServerThread.perform` bodies and the clients'
/// destroy callbacks), so it needs no lock.
final class ClientSockets {
    private var byClientFD: [Int32: OpaquePointer] = [:]

    /// Makes a connected socket pair, hands one end to the server, returns the other (owned by
    /// the caller), or -1 with errno set.
    func connect(through thread: ServerThread) -> Int32 {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return -1 }
        let (clientEnd, serverEnd) = (fds[0], fds[1])
        var connected = false
        let ran = thread.perform { server in
            // The server owns serverEnd from here on, whatever happens.
            let client = server.connectClient(socket: serverEnd) { [self] gone in
                forget(clientFD: clientEnd, client: gone)
            }
            if let client {
                self.byClientFD[clientEnd] = client
                connected = true
            }
        }
        if !ran { close(serverEnd) }
        guard connected else {
            close(clientEnd)
            errno = ECONNREFUSED
            return -1
        }
        return clientEnd
    }

    /// The server-side wl_client behind a client-side connection. Server thread only.
    func client(for display: OpaquePointer) -> OpaquePointer? {
        byClientFD[wl_display_get_fd(display)]
    }

    /// Drops the entry once the client is gone, unless the fd number already names a newer
    /// client (wlcs closed the old fd and a later socketpair reused the number first).
    private func forget(clientFD: Int32, client: OpaquePointer) {
        if byClientFD[clientFD] == client { byClientFD[clientFD] = nil }
    }
}
