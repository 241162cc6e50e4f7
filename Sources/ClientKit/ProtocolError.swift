import CWayland
import Glibc
import SystemPackage
import Synchronization

/// A fatal protocol error the compositor raised against one of this client's objects.
/// After it the connection is dead: every later request is dropped by libwayland.
public struct ProtocolError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The interface of the offending object, e.g. `xdg_surface`
    /// (`[destroyed object]` when the client had already destroyed it).
    public var interface: String
    public var objectID: UInt32
    /// The interface-specific error code, e.g. 3 for `xdg_surface.error.unconfigured_buffer`.
    public var code: UInt32
    public var message: String

    public init(interface: String, objectID: UInt32, code: UInt32, message: String) {
        self.interface = interface
        self.objectID = objectID
        self.code = code
        self.message = message
    }

    public var description: String { "\(interface)@\(objectID) code \(code): \(message)" }
}

/// The connection failed for a reason other than a protocol error:
/// no compositor listening, the socket closed, an I/O error.
public struct ConnectionError: Error, CustomStringConvertible, Sendable {
    public enum Operation: String, Sendable {
        case connect, dispatch, flush, poll
    }

    public var operation: Operation
    public var errno: Errno
    /// The display name that was asked for (nil: libwayland's default, `WAYLAND_DISPLAY` or `wayland-0`).
    public var displayName: String?

    public init(operation: Operation, errno: Errno, displayName: String?) {
        self.operation = operation
        self.errno = errno
        self.displayName = displayName
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public var description: String {
        switch operation {
        case .connect:
            // Resolve the name as libwayland does, so the message names the socket it tried.
            let name = displayName ?? Self.environment("WAYLAND_DISPLAY") ?? "wayland-0"
            let place = name.hasPrefix("/") ? "" : " in XDG_RUNTIME_DIR=\(Self.environment("XDG_RUNTIME_DIR") ?? "(unset)")"
            return "cannot connect to Wayland display '\(name)'\(place): \(errno) (is a compositor running?)"
        case .dispatch, .flush, .poll:
            return "Wayland connection lost (\(operation.rawValue)): \(errno)"
        }
    }
}

/// Errors of the client kit itself (not reported by the compositor).
public enum ClientError: Error, CustomStringConvertible, Sendable {
    /// The compositor does not advertise a global the client needs, or only an older version.
    case missingGlobal(interface: String, minimumVersion: UInt32)
    /// A system call failed.
    case system(operation: String, errno: Errno)
    /// A wait ended because a `SignalInterrupt` fired.
    case interrupted
    /// A wait for the compositor (named) ran past its timeout.
    case timedOut(waitingFor: String)

    public var description: String {
        switch self {
        case let .missingGlobal(interface, minimumVersion):
            return "compositor does not offer \(interface) version \(minimumVersion) or later"
        case let .system(operation, errno):
            return "\(operation) failed: \(errno)"
        case .interrupted:
            return "interrupted by a signal"
        case let .timedOut(what):
            return "timed out waiting for \(what)"
        }
    }
}

// MARK: - Capturing the message of a protocol error

/// libwayland-client reports a protocol error's text only through its process-wide log
/// (`"xdg_surface@12: error 3: <message>\n"`); `wl_display_get_protocol_error` gives just the
/// interface, id and code. The handler keeps the last few such lines so a connection can match
/// its own error by (interface, id, code), even with several connections in one process.
enum ProtocolErrorLog {
    struct Entry: Sendable {
        var interface: String
        var objectID: UInt32
        var code: UInt32
        var message: String
    }

    private static let capacity = 16
    private static let recent = Mutex<[Entry]>([])

    /// Installs the log handler exactly once per process (a Swift global `let` is initialised once).
    private static let installed: Void = {
        cw_client_set_log_handler { line in
            guard let line else { return }
            ProtocolErrorLog.record(String(cString: line))
        }
    }()

    static func install() { _ = installed }

    static func record(_ line: String) {
        guard let entry = parse(line) else {
            // Not a protocol error: keep libwayland's default behaviour of printing it.
            _ = try? FileDescriptor.standardError.writeAll(("wayland-client: " + line).utf8)
            return
        }
        recent.withLock { entries in
            entries.append(entry)
            if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        }
    }

    /// The most recent message logged for this error, if any.
    static func message(interface: String, objectID: UInt32, code: UInt32) -> String? {
        recent.withLock { entries in
            entries.last { $0.interface == interface && $0.objectID == objectID && $0.code == code }?.message
        }
    }

    /// Parses `"<iface>@<id>: error <code>: <message>\n"` or `"[destroyed object]: error <code>: <message>\n"`.
    static func parse(_ line: String) -> Entry? {
        guard let errorRange = line.firstRange(of: ": error ") else { return nil }
        let head = line[..<errorRange.lowerBound]
        let tail = line[errorRange.upperBound...]
        guard let colon = tail.firstRange(of: ": "), let code = UInt32(tail[..<colon.lowerBound]) else { return nil }
        var message = String(tail[colon.upperBound...])
        while message.last == "\n" { message.removeLast() }

        if head == "[destroyed object]" {
            return Entry(interface: String(head), objectID: 0, code: code, message: message)
        }
        guard let at = head.lastIndex(of: "@"), let id = UInt32(head[head.index(after: at)...]) else { return nil }
        return Entry(interface: String(head[..<at]), objectID: id, code: code, message: message)
    }
}
