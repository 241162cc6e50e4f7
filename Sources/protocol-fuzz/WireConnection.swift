import Glibc

/// An object as the fuzz client sees it.
struct ObjectEntry {
    let id: UInt32
    let interface: InterfaceSpec
    let version: UInt32
    /// The client sent its destructor: the fuzzer's own view, which never depends on timing.
    var destroyedByClient = false
    /// The compositor said so (delete_id, or a wl_callback's done).
    var deleted = false
    /// What the fuzzer learned about it: pool and buffer sizes, configure serials...
    var attributes: [String: Int] = [:]
}

/// `wl_display.error` as received.
struct ReceivedProtocolError {
    let objectID: UInt32
    /// The interface of the object named in the error, as this client knows it.
    let interface: String
    let code: UInt32
    let message: String

    var key: String { "\(interface).\(code)" }
}

/// One client connection spoken byte by byte: an object table, a queue of outgoing messages, and
/// the events that come back (`wl_display.error`, `delete_id` and new objects handled here,
/// everything else handed to `onEvent`).
final class WireConnection {
    private let socket: UnixSocket
    private(set) var objects: [UInt32: ObjectEntry] = [:]
    private var nextID: UInt32 = 2
    private var queue: [OutgoingMessage] = []
    /// Bytes of `queue[0]` already written (its fds went with the first part).
    private var sentOfFirst = 0
    private var input: [UInt8] = []

    private(set) var protocolError: ReceivedProtocolError?
    /// Set when the compositor hung up or the socket failed.
    private(set) var closedReason: String?
    var isClosed: Bool { closedReason != nil }
    var onEvent: ((Event) -> Void)?
    /// Every message queued, in order, as text (for crash reports).
    var trace: [String] = []
    var traceEnabled = true

    private(set) var messagesSent = 0, bytesSent = 0, fdsSent = 0, fdsReceived = 0, eventsReceived = 0

    init(path: String) throws {
        socket = try UnixSocket(path: path)
        objects[1] = ObjectEntry(id: 1, interface: Catalog.interface("wl_display")!, version: 1)
    }

    deinit { close() }

    var fileDescriptor: Int32 { socket.fd }
    var wantsWrite: Bool { !queue.isEmpty }

    /// Reuse ids the compositor released (delete_id), as libwayland-client does. Off for fuzz
    /// sessions, whose dead ids stay dead (and whose choices must not depend on event timing);
    /// on for the observer, which would otherwise grow its client's object map in compositord
    /// by one entry per frame callback.
    var reusesIDs = false
    private var freeIDs: [UInt32] = []

    /// The next free client id.
    func allocateID() -> UInt32 {
        if reusesIDs, let id = freeIDs.popLast() { return id }
        defer { nextID += 1 }
        return nextID
    }

    /// The id the next `allocateID` returns (for deliberately bad new_ids).
    var peekNextID: UInt32 { nextID }

    func register(id: UInt32, interface: String, version: UInt32) {
        guard let spec = Catalog.interface(interface) else { return }
        objects[id] = ObjectEntry(id: id, interface: spec, version: version)
    }

    func markDestroyedByClient(_ id: UInt32) { objects[id]?.destroyedByClient = true }

    func setAttribute(_ id: UInt32, _ key: String, _ value: Int) { objects[id]?.attributes[key] = value }

    /// Queues a message; it goes out on the next `flush`.
    func enqueue(_ message: OutgoingMessage) {
        if traceEnabled { trace.append(message.text) }
        guard !isClosed else {
            for fd in message.fds { Glibc.close(fd) }
            return
        }
        queue.append(message)
        messagesSent += 1
    }

    /// Writes what the socket takes now.
    func flush() {
        while !queue.isEmpty, !isClosed {
            let message = queue[0]
            let fds = sentOfFirst == 0 ? message.fds : []
            switch socket.send(message.bytes[sentOfFirst...], fds: fds) {
            case .sent(let n):
                if sentOfFirst == 0 {
                    fdsSent += fds.count
                    for fd in message.fds { Glibc.close(fd) }
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
                dropQueue()
                readAvailable()
                hangUp("send: \(String(cString: strerror(e)))")
            }
        }
    }

    /// Reads and handles what has arrived.
    func readAvailable() {
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
    func close() {
        if !isClosed { closedReason = "closed by the fuzzer" }
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
            for fd in m.fds { Glibc.close(fd) }
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
            let event = Event(object: header.object, opcode: header.opcode, interface: object.interface, spec: spec, arguments: args)
            handleCore(event, version: object.version)
            onEvent?(event)
        }
    }

    private func handleCore(_ event: Event, version: UInt32) {
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
        default:
            break
        }
    }
}
