import Glibc

/// An object as the raw client sees it.
public struct ObjectEntry {
    public let id: UInt32
    public let interface: InterfaceSpec
    public let version: UInt32
    /// The client sent its destructor: the client's own view, which never depends on timing.
    public var destroyedByClient = false
    /// The compositor said so (delete_id, or a wl_callback's done).
    public var deleted = false
    /// What the fuzzer learned about it: pool and buffer sizes, configure serials...
    public var attributes: [String: Int] = [:]
}

/// `wl_display.error` as received.
public struct ReceivedProtocolError {
    public let objectID: UInt32
    /// The interface of the object named in the error, as this client knows it.
    public let interface: String
    public let code: UInt32
    public let message: String

    public var key: String { "\(interface).\(code)" }
}

/// One client connection spoken byte by byte: an object table, a queue of outgoing messages, and
/// the events that come back (`wl_display.error`, `delete_id`, `wl_registry.global`, callbacks'
/// `done` and new objects handled here, everything else handed to `onEvent`). Used by the
/// protocol fuzzer (non-blocking, driven by its poll loop) and by the integration tests (through
/// `sendWaiting` and `read(timeout:until:)`). It can send what libwayland-client never does:
/// more than 28 fds in one sendmsg, fds attached to requests that take none, a bind of a global
/// it was never shown, lengths that lie.
public final class WireConnection {
    private let socket: UnixSocket
    /// Interface descriptions by name: events on objects whose interface it does not know are skipped.
    private let interfaces: (String) -> InterfaceSpec?
    public private(set) var objects: [UInt32: ObjectEntry] = [:]
    private var nextID: UInt32 = 2
    private var queue: [OutgoingMessage] = []
    /// Bytes of `queue[0]` already written (its fds went with the first part).
    private var sentOfFirst = 0
    private var input: [UInt8] = []

    public private(set) var protocolError: ReceivedProtocolError?
    /// Set when the compositor hung up or the socket failed.
    public private(set) var closedReason: String?
    /// The errno of the sendmsg that failed, if one did.
    public private(set) var sendError: Int32?
    public var isClosed: Bool { closedReason != nil }
    /// `wl_registry.global` events seen on any registry (minus global_remove): name -> (interface, version).
    public private(set) var globals: [UInt32: (interface: String, version: UInt32)] = [:]
    public var onEvent: ((WireEvent) -> Void)?
    /// Every message queued, in order, as text (for crash reports).
    public var trace: [String] = []
    public var traceEnabled = true

    public private(set) var messagesSent = 0, bytesSent = 0, fdsSent = 0, fdsReceived = 0, eventsReceived = 0

    /// Connects to the socket at `path`; `interfaces` describes the protocol (the core
    /// wl_display / wl_registry / wl_callback by default). Object 1 is wl_display.
    public init(path: String, interfaces: @escaping (String) -> InterfaceSpec? = CoreProtocol.interface) throws {
        socket = try UnixSocket(path: path)
        self.interfaces = interfaces
        objects[1] = ObjectEntry(id: 1, interface: interfaces("wl_display")!, version: 1)
    }

    deinit { close() }

    public var fileDescriptor: Int32 { socket.fd }
    public var wantsWrite: Bool { !queue.isEmpty }

    /// Reuse ids the compositor released (delete_id), as libwayland-client does. Off for fuzz
    /// sessions, whose dead ids stay dead (and whose choices must not depend on event timing);
    /// on for the observer, which would otherwise grow its client's object map in compositord
    /// by one entry per frame callback.
    public var reusesIDs = false
    private var freeIDs: [UInt32] = []

    /// The next free client id.
    public func allocateID() -> UInt32 {
        if reusesIDs, let id = freeIDs.popLast() { return id }
        defer { nextID += 1 }
        return nextID
    }

    /// The id the next `allocateID` returns (for deliberately bad new_ids).
    public var peekNextID: UInt32 { nextID }

    /// Records a new object; one whose interface is unknown is not recorded (its events are skipped).
    public func register(id: UInt32, interface: String, version: UInt32) {
        guard let spec = interfaces(interface) else { return }
        objects[id] = ObjectEntry(id: id, interface: spec, version: version)
    }

    public func markDestroyedByClient(_ id: UInt32) { objects[id]?.destroyedByClient = true }

    public func setAttribute(_ id: UInt32, _ key: String, _ value: Int) { objects[id]?.attributes[key] = value }

    /// Queues a message; it goes out on the next `flush`.
    public func enqueue(_ message: OutgoingMessage) {
        if traceEnabled { trace.append(message.text) }
        guard !isClosed else {
            message.closeFds()
            return
        }
        queue.append(message)
        messagesSent += 1
    }

    /// Writes what the socket takes now.
    public func flush() {
        while !queue.isEmpty, !isClosed {
            let message = queue[0]
            let fds = sentOfFirst == 0 ? message.fds : []
            switch socket.send(message.bytes[sentOfFirst...], fds: fds) {
            case .sent(let n):
                if sentOfFirst == 0 {
                    fdsSent += fds.count
                    message.closeFds()
                }
                bytesSent += n
                sentOfFirst += n
                if sentOfFirst >= message.bytes.count {
                    queue.removeFirst()
                    sentOfFirst = 0
                }
            case .wouldBlock:
                return
            case .failed(let e):
                // The compositor hung up; what it sent before (an error event) is still readable.
                sendError = e
                dropQueue()
                readAvailable()
                hangUp("send: \(String(cString: strerror(e)))")
            }
        }
    }

    /// Reads and handles what has arrived.
    public func readAvailable() {
        while !isClosed {
            switch socket.receive(into: &input, receivedFds: &fdsReceived) {
            case .data: parse()
            case .wouldBlock: return
            case .endOfFile: parse(); hangUp("end of file")
            case .failed(let e): hangUp("recv: \(String(cString: strerror(e)))")
            }
        }
    }

    /// Closes the socket; queued fds are closed too.
    public func close() {
        if !isClosed { closedReason = "closed by the client" }
        socket.close()
        dropQueue()
    }

    private func hangUp(_ reason: String) {
        if closedReason == nil { closedReason = reason }
        socket.close()
        dropQueue()
    }

    /// A message's fds are closed once its first byte is sent; the rest still own theirs.
    private func dropQueue() {
        for (i, m) in queue.enumerated() where !(i == 0 && sentOfFirst > 0) {
            m.closeFds()
        }
        queue.removeAll()
        sentOfFirst = 0
    }

    private func parse() {
        var offset = 0
        defer { if offset > 0 { input.removeFirst(offset) } }
        while let header = WireDecoder.header(input, at: offset) {
            guard header.size >= 8 else {
                hangUp("compositor sent a message of size \(header.size)")
                return
            }
            guard input.count - offset >= header.size else { return }
            let start = offset + 8, end = offset + header.size
            offset = end
            eventsReceived += 1
            guard let object = objects[header.object], Int(header.opcode) < object.interface.events.count else { continue }
            let spec = object.interface.events[Int(header.opcode)]
            guard let args = WireDecoder.arguments(input, from: start, to: end, spec: spec) else { continue }
            let event = WireEvent(object: header.object, opcode: header.opcode, interface: object.interface, spec: spec, arguments: args)
            handleCore(event, version: object.version)
            onEvent?(event)
        }
    }

    private func handleCore(_ event: WireEvent, version: UInt32) {
        // Objects the compositor creates (wl_data_offer, the wl_buffer of params.created...).
        for (i, arg) in event.spec.arguments.enumerated() where arg.type == UInt8(ascii: "n") {
            if case .newID(let id) = event.arguments[i], let name = arg.interface {
                register(id: id, interface: name, version: version)
            }
        }
        switch (event.interface.name, event.spec.name) {
        case ("wl_display", "error"):
            guard protocolError == nil else { return }
            let id = event.arguments[0].uint32 ?? 0
            let message = event.arguments[2].bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
            protocolError = ReceivedProtocolError(
                objectID: id, interface: objects[id]?.interface.name ?? "unknown", code: event.arguments[1].uint32 ?? 0,
                message: message)
        case ("wl_display", "delete_id"):
            if let id = event.arguments[0].uint32 {
                objects[id]?.deleted = true
                if reusesIDs, id < 0xFF00_0000 { freeIDs.append(id) }
            }
        case ("wl_callback", "done"):
            objects[event.object]?.deleted = true
        case ("wl_registry", "global"):
            if let name = event.arguments[0].uint32, let interface = event.arguments[1].bytes, let version = event.arguments[2].uint32 {
                globals[name] = (String(decoding: interface, as: UTF8.self), version)
            }
        case ("wl_registry", "global_remove"):
            if let name = event.arguments[0].uint32 { globals[name] = nil }
        default:
            break
        }
    }
}

/// Blocking use, for tests: one request at a time, then read until a condition holds.
extension WireConnection {
    /// Queues `message` and writes until all of it went out (waiting for the socket to take it,
    /// up to `timeout` seconds), as a blocking sendmsg would. Returns 0, the errno of the failed
    /// send (the connection has read what was left and hung up then), EPIPE if it had hung up
    /// already, or ETIMEDOUT.
    @discardableResult
    public func sendWaiting(_ message: OutgoingMessage, timeout: Double = 30) -> Int32 {
        if isClosed {
            message.closeFds()
            return sendError ?? EPIPE
        }
        enqueue(message)
        let deadline = monotonicSeconds() + timeout
        while true {
            flush()
            if isClosed { return sendError ?? EPIPE }
            if !wantsWrite { return 0 }
            let left = deadline - monotonicSeconds()
            if left <= 0 { return ETIMEDOUT }
            var p = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(max(1, min(1000, left * 1000))))
        }
    }

    /// Reads and handles events until `condition`, a hang-up, or `timeout` seconds; returns `condition`.
    @discardableResult
    public func read(timeout: Double, until condition: () -> Bool) -> Bool {
        let deadline = monotonicSeconds() + timeout
        while !condition() {
            let left = deadline - monotonicSeconds()
            if isClosed || left < 0 { return condition() }
            var p = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(max(1, min(1000, left * 1000)))) > 0 else { continue }
            readAvailable()
        }
        return true
    }
}
