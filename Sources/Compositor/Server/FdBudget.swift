import Buffers
import CWayland
import Glibc
import Syscalls
import Logging
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// How many file descriptors compositord lets clients make it hold, so that it never runs out
/// for its own needs (accepting, output buffers, screenshots, dups of fds it sends, timers).
///
/// The check is free: the kernel always hands out the lowest free fd number, so a new fd `n`
/// proves that 0..<n are all open. A client fd at or above `limit - reserve` (`- clientAllowance`
/// for a new connection) therefore means the table is within the reserve, and it is refused: a new
/// connection gets `wl_display.error(no_memory)` written onto it and is closed, a received fd
/// (wl_shm.create_pool, zwp_linux_buffer_params_v1.add) is closed and its client gets the same
/// error and is disconnected. No /proc scan
/// (one costs milliseconds at a few thousand fds). Client fds therefore never stay in the top
/// `reserve` slots, which are left to the compositor.
///
/// What it cannot see: fds libwayland has received but not handed over yet (up to 1024 per client
/// in its ring; a client that sends fds with requests that take none fills it, and libwayland
/// drops it at the 1025th, see docs/robustness/hygiene.md).
public struct FdBudget: Sendable {
    /// Slots kept for the compositor's own fds.
    public static let reserve = 64
    /// Extra slots a new client must leave free: libwayland's dup of its socket is one, the pools
    /// it will send more.
    public static let clientAllowance = 8

    /// The soft RLIMIT_NOFILE now (it can change under us: prlimit).
    public static var limit: Int {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return Int(FD_SETSIZE) }
        return r.rlim_cur == rlim_t.max ? Int(Int32.max) : Int(clamping: r.rlim_cur)
    }

    /// Whether a client whose socket is fd `n` may stay.
    package static func admitsClient(socketFD n: Int32) -> Bool {
        Int(n) + 1 + clientAllowance + reserve <= limit
    }

    /// Whether a received fd `n` may be kept.
    package static func admitsReceived(fd n: Int32) -> Bool {
        Int(n) + 1 + reserve <= limit
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit (compositord does this at start; an
    /// embedder decides for its own process). Returns the soft limit before and after, and the
    /// hard limit.
    public static func raiseSoftLimit() -> (before: UInt64, after: UInt64, hard: UInt64) {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return (0, 0, 0) }
        let before = UInt64(r.rlim_cur)
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r)
        }
        return (before, UInt64(r.rlim_cur), UInt64(r.rlim_max))
    }

    package static func atLimitMessage(fd n: Int32) -> String {
        "compositor is at its file descriptor limit (fd \(n) of \(limit), \(reserve) kept for itself): try again later"
    }
}

extension Server {
    /// A new connection's fd from the listening socket: becomes a client, or is refused
    /// (`tableFull`: it only got in through the spare fd).
    package func accepted(_ fd: Int32, tableFull: Bool) {
        if tableFull || !FdBudget.admitsClient(socketFD: fd) {
            refuseClient(fd, FdBudget.atLimitMessage(fd: fd))
        } else if wl_client_create(display, fd) == nil {
            // It fails without closing fd; EMFILE here means the dup it makes did not fit.
            let e = Errno.current
            refuseClient(fd, e == .tooManyOpenFiles ? FdBudget.atLimitMessage(fd: fd) : "compositor cannot take a client now (\(e))")
        }
    }

    /// Refuses a connection before libwayland ever sees it: writes `wl_display.error(no_memory)`
    /// with `message` straight onto the socket and closes it. No wl_client is made, because
    /// making one costs another fd (libwayland's event loop dups the socket), which is exactly
    /// what is short. Its requests are never read.
    private func refuseClient(_ fd: Int32, _ message: String) {
        let credentials = (try? Syscall.peerCredentials(fd)) ?? (0, 0, 0)
        logger.warning("client refused", metadata: [
            "pid": "\(credentials.0)", "uid": "\(credentials.1)", "fd": "\(fd)", "limit": "\(FdBudget.limit)", "reason": "\(message)",
        ])
        let bytes = WireEvent.displayError(code: WL_DISPLAY_ERROR_NO_MEMORY.rawValue, message: message)
        do throws(Errno) {
            let sent = try Syscall.send(fd, bytes, flags: Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            // A short send sets no errno of its own: the thread's is reported, as it always was.
            if sent != bytes.count { throw Errno.current }
        } catch {
            logger.warning("the refused client could not be told why", metadata: ["pid": "\(credentials.0)", "errno": "\(error)"])
        }
        try? Syscall.close(fd)
    }

    /// For requests that hand over an fd: false (after closing it and posting
    /// `wl_display.error(no_memory)`, which disconnects the client) when it landed in the reserve.
    package func admitsReceived(_ request: Request, fd: Int32) -> Bool {
        guard !FdBudget.admitsReceived(fd: fd) else { return true }
        ReceivedFd.close(fd)
        let client = request.client
        clients.record(client) { $0.refusals["fd-limit", default: 0] += 1 }
        if let displayResource = wl_client_get_object(client, 1) {
            post(WlDisplayError.noMemory, on: displayResource, FdBudget.atLimitMessage(fd: fd))
        }
        return false
    }
}

/// Events written without libwayland, for connections that never become clients.
package enum WireEvent {
    /// `wl_display.error(object_id: 1, code, message)` on `wl_display` (object 1, opcode 0), in the
    /// wire format: header (object id; size << 16 | opcode), then 32-bit words, the string as its
    /// length with the NUL and the bytes padded to 4.
    package static func displayError(code: UInt32, message: String) -> [UInt8] {
        var text = Array(message.utf8.prefix(1000)) + [0]
        let stringLength = UInt32(text.count)
        while text.count % 4 != 0 { text.append(0) }
        let size = UInt32(8 + 4 + 4 + 4 + text.count)
        var bytes: [UInt8] = []
        for word in [1, size << 16 | 0, 1, code, stringLength] as [UInt32] {
            withUnsafeBytes(of: word) { bytes += $0 }  // the wire is host-endian
        }
        return bytes + text
    }
}
