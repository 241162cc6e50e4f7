import CWayland
import Glibc
import SystemPackage

/// One connection to a Wayland compositor (a `wl_display`).
///
/// Every object made through it keeps it alive, so the display is disconnected only after all
/// proxies are destroyed. Use it from one thread only.
public final class Connection {
    /// The wl_display, for requests ClientKit does not wrap.
    public let display: OpaquePointer
    /// The name asked for; nil means libwayland's default (`WAYLAND_DISPLAY`, else `wayland-0`).
    public let displayName: String?

    /// When set, every wait returns `.interrupted` as soon as one of its signals arrives.
    public var interrupt: SignalInterrupt?

    /// Connects to `displayName` (a socket name in `XDG_RUNTIME_DIR`, or an absolute path).
    public init(displayName: String? = nil) throws {
        ProtocolErrorLog.install()
        Glibc.errno = 0
        let display: OpaquePointer? =
            if let displayName { wl_display_connect(displayName) } else { wl_display_connect(nil) }
        guard let display else {
            let code = Glibc.errno == 0 ? ENOENT : Glibc.errno
            throw ConnectionError(operation: .connect, errno: Errno(rawValue: code), displayName: displayName)
        }
        self.display = display
        self.displayName = displayName
    }

    deinit {
        wl_display_disconnect(display)
    }

    /// The socket, for callers that run their own poll loop.
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: wl_display_get_fd(display)) }

    /// The error that broke the connection, if any: a `ProtocolError` or a `ConnectionError`.
    public var error: (any Error)? {
        let code = wl_display_get_error(display)
        guard code != 0 else { return nil }
        return makeError(code: code, operation: .dispatch)
    }

    /// Sends queued requests without waiting. `EAGAIN` (socket full) is not an error here:
    /// the next wait flushes again.
    public func flush() throws {
        if wl_display_flush(display) < 0 {
            let code = Glibc.errno
            if code == EAGAIN || code == EPIPE { return }
            throw makeError(code: code, operation: .flush)
        }
    }

    /// Dispatches events that have already been read, without blocking.
    public func dispatchPending() throws {
        if wl_display_dispatch_pending(display) < 0 { throw currentError(operation: .dispatch) }
    }

    /// Blocks until the compositor has processed every request sent so far (and this client has
    /// handled the events those produced). Throws the `ProtocolError` if the compositor raised one.
    @discardableResult
    public func roundtrip(timeout: Duration? = nil) throws -> WaitResult {
        guard let proxy = wl_display_sync(display) else { throw currentError(operation: .flush) }
        let callback = Callback(connection: self, proxy: proxy)
        return try wait(timeout: timeout) { callback.isDone }
    }

    public enum WaitResult: Sendable, Equatable {
        case satisfied, timedOut, interrupted

        /// Turns an unsatisfied wait into `ClientError.interrupted` / `.timedOut`.
        public func orThrow(waitingFor what: String) throws {
            switch self {
            case .satisfied: return
            case .interrupted: throw ClientError.interrupted
            case .timedOut: throw ClientError.timedOut(waitingFor: what)
            }
        }
    }

    /// Dispatches events until `condition` holds, the timeout passes, or `interrupt` fires.
    /// Sleeps in `poll` between events: a silent compositor costs no CPU.
    @discardableResult
    public func wait(timeout: Duration? = nil, until condition: () -> Bool) throws -> WaitResult {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            if condition() { return .satisfied }
            if let interrupt, interrupt.isTriggered { return .interrupted }
            var remaining: Duration?
            if let deadline {
                remaining = deadline - clock.now
                if remaining! <= .zero { return .timedOut }
            }
            try dispatchOnce(timeout: remaining)
        }
    }

    /// One turn of the loop: dispatch what is queued, or flush, poll, read and dispatch.
    private func dispatchOnce(timeout: Duration?) throws {
        // Events already queued must be dispatched before reading, and a caller's condition may
        // now hold, so return without blocking.
        if wl_display_prepare_read(display) != 0 {
            if wl_display_dispatch_pending(display) < 0 { throw currentError(operation: .dispatch) }
            return
        }

        var wantWrite = false
        if wl_display_flush(display) < 0 {
            let code = Glibc.errno
            if code == EAGAIN {
                wantWrite = true
            } else if code != EPIPE {
                // EPIPE: the compositor hung up, possibly after sending an error; read it below.
                wl_display_cancel_read(display)
                throw makeError(code: code, operation: .flush)
            }
        }

        var fds = [pollfd(fd: wl_display_get_fd(display), events: Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0), revents: 0)]
        if let interrupt {
            fds.append(pollfd(fd: interrupt.fileDescriptor.rawValue, events: Int16(POLLIN), revents: 0))
        }
        let milliseconds: Int32 = timeout.map { Self.milliseconds($0) } ?? -1

        var ready: Int32
        var pollErrno: Int32 = 0
        repeat {
            ready = poll(&fds, nfds_t(fds.count), milliseconds)
            pollErrno = ready < 0 ? Glibc.errno : 0
            // EINTR from a signal that is not ours: poll again (the read stays prepared).
        } while pollErrno == EINTR && !(interrupt?.isTriggered ?? false)

        if ready < 0 && pollErrno != EINTR {
            wl_display_cancel_read(display)
            throw ConnectionError(operation: .poll, errno: Errno(rawValue: pollErrno), displayName: displayName)
        }
        if ready > 0 && fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            if wl_display_read_events(display) < 0 { throw currentError(operation: .dispatch) }
        } else {
            wl_display_cancel_read(display)
        }
        if wl_display_dispatch_pending(display) < 0 { throw currentError(operation: .dispatch) }
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        // Round up so a short positive timeout does not become a busy 0 ms poll.
        guard seconds < Int64(Int32.max) / 1000 else { return Int32.max }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }

    private func currentError(operation: ConnectionError.Operation) -> any Error {
        let code = wl_display_get_error(display)
        return makeError(code: code != 0 ? code : Glibc.errno, operation: operation)
    }

    private func makeError(code: Int32, operation: ConnectionError.Operation) -> any Error {
        protocolError() ?? ConnectionError(operation: operation, errno: Errno(rawValue: code), displayName: displayName)
    }

    /// The protocol error that broke the connection, if that is what did.
    ///
    /// libwayland sets the display's error to EPROTO for errors on any object but `wl_display`;
    /// `wl_display`'s own errors (invalid_object, invalid_method: EINVAL; no_memory: ENOMEM;
    /// implementation: EPROTO) are recognised by the interface it records with them.
    private func protocolError() -> ProtocolError? {
        let last = wl_display_get_error(display)
        guard last != 0 else { return nil }
        var interface: UnsafePointer<wl_interface>?
        var objectID: UInt32 = 0
        let errorCode = wl_display_get_protocol_error(display, &interface, &objectID)
        let interfaceName = interface.flatMap { $0.pointee.name.map { String(cString: $0) } }
        guard last == EPROTO || interfaceName == "wl_display" else { return nil }
        let name = interfaceName ?? "[destroyed object]"
        let message = ProtocolErrorLog.message(interface: name, objectID: objectID, code: errorCode)
            ?? "(no message)"
        return ProtocolError(interface: name, objectID: objectID, code: errorCode, message: message)
    }
}

/// A `wl_callback` (from `wl_display.sync` or `wl_surface.frame`): one `done` event.
public final class Callback: EventReceiver {
    let connection: Connection
    private let proxy: OpaquePointer
    public private(set) var isDone = false
    /// The event's payload: for frame callbacks, a timestamp in milliseconds.
    public private(set) var callbackData: UInt32 = 0

    init(connection: Connection, proxy: OpaquePointer) {
        self.connection = connection
        self.proxy = proxy
        routeEvents(of: proxy, to: self)
    }

    deinit {
        wl_callback_destroy(proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        guard opcode == 0 else { return } // done
        isDone = true
        callbackData = arguments.uint(0)
    }
}
