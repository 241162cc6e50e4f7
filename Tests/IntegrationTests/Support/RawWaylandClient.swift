import CWayland
import Glibc
import WaylandTestSupport

/// A Wayland client that speaks the wire format itself (WaylandTestSupport's `WireConnection`,
/// the protocol fuzzer's codec), so it can do what libwayland-client never sends: more than 28
/// fds in one sendmsg, fds attached to requests that take none, a bind of a global it was never
/// shown. Requests are written as 32-bit words; each `send` is one sendmsg that waits until the
/// compositor took it.
final class RawWaylandClient {
    /// `wl_display.error`, as the client received it.
    struct DisplayError: Equatable, CustomStringConvertible {
        let objectID: UInt32, code: UInt32, message: String
        var description: String { "object \(objectID) code \(code): \(message)" }
    }

    let connection: WireConnection
    private var registryID: UInt32?

    init(path: String) throws {
        connection = try WireConnection(path: path)
        connection.traceEnabled = false
    }

    /// Set once the connection ended (EOF or an error such as ECONNRESET).
    var hungUp: Bool { connection.isClosed }
    var displayError: DisplayError? {
        connection.protocolError.map { DisplayError(objectID: $0.objectID, code: $0.code, message: $0.message) }
    }
    /// `wl_registry.global` events seen: name -> (interface, version).
    var globals: [UInt32: (interface: String, version: UInt32)] { connection.globals }

    func newID() -> UInt32 { connection.allocateID() }

    /// Closes the connection (the compositor sees the client leave).
    func close() { connection.close() }

    /// One request: header (object, size << 16 | opcode) and 32-bit words.
    static func message(object: UInt32, opcode: UInt16, _ words: [UInt32]) -> [UInt8] {
        WireEncoder.encode(object: object, opcode: UInt32(opcode), words.map { .uint($0) }).bytes
    }

    /// Sends `bytes` in one sendmsg with `fds` attached (SCM_RIGHTS; they stay the caller's).
    /// Returns 0 or the errno.
    @discardableResult
    func send(_ bytes: [UInt8], fds: [Int32] = []) -> Int32 {
        connection.sendWaiting(OutgoingMessage(bytes: bytes, fds: fds, text: "", ownsFds: false))
    }

    // MARK: requests

    func getRegistry() {
        let id = newID()
        registryID = id
        connection.register(id: id, interface: "wl_registry", version: 1)
        send(WireEncoder.encode(object: 1, opcode: 1, [.newID(id)]).bytes)
    }

    /// wl_display.sync: returns the callback's id.
    @discardableResult
    func sync(fds: [Int32] = []) -> UInt32 {
        let id = newID()
        connection.register(id: id, interface: "wl_callback", version: 1)
        send(WireEncoder.encode(object: 1, opcode: 0, [.newID(id)]).bytes, fds: fds)
        return id
    }

    /// wl_registry.bind(name, interface, version, id); returns the new id.
    func bind(name: UInt32, interface: String, version: UInt32) -> UInt32 {
        let id = newID()
        let args: [WireValue] = [.uint(name), .string(Array(interface.utf8)), .uint(version), .newID(id)]
        send(WireEncoder.encode(object: registryID!, opcode: 0, args).bytes)
        return id
    }

    /// Sends a sync and reads until its done event (true), an error or hang-up (false), or `timeout`.
    func roundtrip(timeout: Double = 10) -> Bool {
        let id = sync()
        return read(timeout: timeout) { $0.connection.objects[id]?.deleted == true }
    }

    /// Reads and decodes events until `condition`, a hang-up, or `timeout`; returns `condition`.
    @discardableResult
    func read(timeout: Double, until condition: (RawWaylandClient) -> Bool) -> Bool {
        connection.read(timeout: timeout) { condition(self) }
    }

    /// The name of the advertised global `interface`, if any.
    func globalName(_ interface: String) -> UInt32? {
        globals.first { $0.value.interface == interface }?.key
    }
}

/// A memfd of `size` bytes sealed against shrinking, as ClientKit makes pool files.
func sealedMemfd(size: Int = 4096) -> Int32 {
    let fd = cw_memfd_create("raw-client-pool", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
    guard fd >= 0 else { return -1 }
    ftruncate(fd, off_t(size))
    _ = fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_SEAL))
    return fd
}
