import CWayland
import Foundation
import Glibc

/// A Wayland client that speaks the wire format itself over a plain Unix socket, so it can do
/// what libwayland-client never sends: more than 28 fds in one sendmsg, fds attached to requests
/// that take none, a bind of a global it was never shown.
final class RawWaylandClient {
    struct Event {
        let object: UInt32
        let opcode: UInt16
        let body: [UInt8]

        func uint(at offset: Int) -> UInt32 {
            body.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        }

        /// A string argument at `offset`; returns it and the offset after it.
        func string(at offset: Int) -> (String, Int) {
            let length = Int(uint(at: offset))
            let start = offset + 4
            let text = length > 0 ? String(decoding: body[start..<(start + length - 1)], as: UTF8.self) : ""
            return (text, start + (length + 3) / 4 * 4)
        }
    }

    /// `wl_display.error`, as the client received it.
    struct DisplayError: Equatable, CustomStringConvertible {
        let objectID: UInt32, code: UInt32, message: String
        var description: String { "object \(objectID) code \(code): \(message)" }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    let fd: Int32
    private var nextID: UInt32 = 2
    private var input: [UInt8] = []
    /// Set once the connection ended (EOF or an error such as ECONNRESET).
    private(set) var hungUp = false
    private(set) var displayError: DisplayError?
    /// `wl_registry.global` events seen: name -> (interface, version).
    private(set) var globals: [UInt32: (interface: String, version: UInt32)] = [:]
    private var registryID: UInt32?
    private var doneCallbacks: Set<UInt32> = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "connect \(path): \(String(cString: strerror(e)))")
        }
    }

    deinit { close(fd) }

    func newID() -> UInt32 {
        defer { nextID += 1 }
        return nextID
    }

    /// One request: header (object, size << 16 | opcode) and 32-bit words.
    static func message(object: UInt32, opcode: UInt16, _ words: [UInt32]) -> [UInt32] {
        [object, UInt32(8 + 4 * words.count) << 16 | UInt32(opcode)] + words
    }

    /// A string argument: length with the NUL, then the bytes padded to 32 bits.
    static func string(_ s: String) -> [UInt32] {
        var bytes = Array(s.utf8) + [0]
        while bytes.count % 4 != 0 { bytes.append(0) }
        return [UInt32(s.utf8.count + 1)] + stride(from: 0, to: bytes.count, by: 4).map {
            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
        }
    }

    /// Sends `words` in one sendmsg with `fds` attached (SCM_RIGHTS). Returns 0 or the errno.
    @discardableResult
    func send(_ words: [UInt32], fds: [Int32] = []) -> Int32 {
        var payload = words
        var control = [UInt8](repeating: 0, count: fds.isEmpty ? 0 : Self.cmsgSpace(fds.count))
        if !fds.isEmpty {
            control.withUnsafeMutableBytes { raw in
                // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }, then the fds.
                raw.storeBytes(of: Self.cmsgLength(fds.count), toByteOffset: 0, as: Int.self)
                raw.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
                raw.storeBytes(of: Int32(1), toByteOffset: 12, as: Int32.self)  // SCM_RIGHTS
                for (i, fd) in fds.enumerated() { raw.storeBytes(of: fd, toByteOffset: 16 + 4 * i, as: Int32.self) }
            }
        }
        return payload.withUnsafeMutableBytes { body in
            control.withUnsafeMutableBytes { cmsg in
                var iov = iovec(iov_base: body.baseAddress, iov_len: body.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var msg = msghdr()
                    msg.msg_iov = iovp
                    msg.msg_iovlen = 1
                    msg.msg_control = fds.isEmpty ? nil : cmsg.baseAddress
                    msg.msg_controllen = fds.isEmpty ? 0 : cmsg.count
                    return sendmsg(fd, &msg, Int32(MSG_NOSIGNAL)) < 0 ? errno : 0
                }
            }
        }
    }

    private static func cmsgLength(_ count: Int) -> Int { 16 + 4 * count }
    private static func cmsgSpace(_ count: Int) -> Int { (cmsgLength(count) + 7) / 8 * 8 }

    // MARK: requests

    func getRegistry() {
        let id = newID()
        registryID = id
        send(Self.message(object: 1, opcode: 1, [id]))
    }

    /// wl_display.sync: returns the callback's id.
    @discardableResult
    func sync(fds: [Int32] = []) -> UInt32 {
        let id = newID()
        send(Self.message(object: 1, opcode: 0, [id]), fds: fds)
        return id
    }

    /// wl_registry.bind(name, interface, version, id); returns the new id.
    func bind(name: UInt32, interface: String, version: UInt32) -> UInt32 {
        let id = newID()
        send(Self.message(object: registryID!, opcode: 0, [name] + Self.string(interface) + [version, id]))
        return id
    }

    /// Sends a sync and reads until its done event (true), an error or hang-up (false), or `timeout`.
    func roundtrip(timeout: Double = 10) -> Bool {
        let id = sync()
        return read(timeout: timeout) { $0.doneCallbacks.contains(id) }
    }

    /// Reads and decodes events until `condition`, a hang-up, or `timeout`; returns `condition`.
    @discardableResult
    func read(timeout: Double, until condition: (RawWaylandClient) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(self) {
            if hungUp || Date() > deadline { return condition(self) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, min(1000, deadline.timeIntervalSinceNow * 1000)))
            guard poll(&p, 1, ms) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                hungUp = true
                continue
            }
            input += buffer[..<n]
            decode()
        }
        return true
    }

    private func decode() {
        while input.count >= 8 {
            let header = input.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self), $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
            let size = Int(header.1 >> 16)
            guard size >= 8, input.count >= size else { return }
            let event = Event(object: header.0, opcode: UInt16(header.1 & 0xFFFF), body: Array(input[8..<size]))
            input.removeFirst(size)
            handle(event)
        }
    }

    private func handle(_ event: Event) {
        if event.object == 1 && event.opcode == 0 {  // wl_display.error(object, code, message)
            let (message, _) = event.string(at: 8)
            displayError = DisplayError(objectID: event.uint(at: 0), code: event.uint(at: 4), message: message)
        } else if event.object == registryID && event.opcode == 0 {  // wl_registry.global
            let (interface, next) = event.string(at: 4)
            globals[event.uint(at: 0)] = (interface, event.uint(at: next))
        } else if event.opcode == 0 && event.body.count == 4 && event.object != 1 {  // wl_callback.done
            doneCallbacks.insert(event.object)
        }
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
