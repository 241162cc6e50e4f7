import CWayland
import Glibc
import SystemPackage

/// Serves many connections from one thread with a single `poll(2)`: a load generator's event
/// loop (one process, hundreds of `wl_display`s). `Connection.wait` blocks on one connection;
/// this is the same prepare-read / flush / poll / read / dispatch cycle over all of them.
///
/// A connection that fails (the compositor hung up, or raised a protocol error) is reported and
/// left alone by the caller; the others go on.
public enum ConnectionPoll {
    public struct Failure: Error, CustomStringConvertible {
        /// Index into the array passed to `dispatch`.
        public var index: Int
        /// A `ProtocolError` or a `ConnectionError`.
        public var error: any Error
        public var description: String { "connection \(index): \(error)" }
    }

    /// One turn: dispatches what every connection has queued, sends what they have to send, then
    /// waits up to `timeout` (nil: forever) for any of them, or for `extraDescriptor` to become
    /// readable, reads and dispatches. Returns the connections that failed in this turn.
    ///
    /// Only the connections whose socket is ready are read (prepare, read, dispatch), so a turn
    /// costs little more than one `poll(2)` when few of hundreds of connections have events.
    /// Use from one thread only (no other thread may read these displays).
    public static func dispatch(_ connections: [Connection], timeout: Duration?, extraDescriptor: Int32? = nil) -> [Failure] {
        var failures: [Failure] = []
        var fds: [pollfd] = []
        fds.reserveCapacity(connections.count + 1)
        // The connection behind each slot of `fds`.
        var slots: [Int] = []
        slots.reserveCapacity(connections.count)
        var dispatched = false

        for (index, connection) in connections.enumerated() {
            let display = connection.display
            // Events queued by an earlier read (a `wait` of the owner) go first.
            let count = wl_display_dispatch_pending(display)
            if count < 0 {
                failures.append(Failure(index: index, error: connection.failure(operation: .dispatch)))
                continue
            }
            if count > 0 { dispatched = true }
            var events = Int16(POLLIN)
            if wl_display_flush(display) < 0 {
                let code = Glibc.errno
                if code == EAGAIN {
                    events |= Int16(POLLOUT)
                } else if code != EPIPE {
                    // EPIPE: the compositor hung up, maybe after an error; the read below gets it.
                    failures.append(Failure(index: index, error: connection.failure(operation: .flush, errno: code)))
                    continue
                }
            }
            fds.append(pollfd(fd: wl_display_get_fd(display), events: events, revents: 0))
            slots.append(index)
        }
        if let extraDescriptor { fds.append(pollfd(fd: extraDescriptor, events: Int16(POLLIN), revents: 0)) }

        // Something was dispatched: the caller has work now, so do not sleep.
        let milliseconds: Int32 = dispatched ? 0 : timeout.map(Self.milliseconds) ?? -1
        var ready: Int32
        repeat {
            ready = poll(&fds, nfds_t(fds.count), milliseconds)
        } while ready < 0 && Glibc.errno == EINTR
        guard ready > 0 else { return failures }

        for (slot, index) in slots.enumerated() where fds[slot].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            let connection = connections[index]
            let display = connection.display
            var failed = false
            while wl_display_prepare_read(display) != 0 {
                if wl_display_dispatch_pending(display) < 0 { failed = true; break }
            }
            if failed || wl_display_read_events(display) < 0 || wl_display_dispatch_pending(display) < 0 {
                failures.append(Failure(index: index, error: connection.failure(operation: .dispatch)))
            }
        }
        return failures
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(Int32.max) / 1000 else { return Int32.max }
        // Round up so a short positive timeout does not become a busy 0 ms poll.
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }
}

extension Connection {
    /// Why the connection broke: its protocol error, else the display's error, else `code`.
    fileprivate func failure(operation: ConnectionError.Operation, errno code: Int32 = Glibc.errno) -> any Error {
        error ?? ConnectionError(operation: operation, errno: Errno(rawValue: code), displayName: displayName)
    }
}
