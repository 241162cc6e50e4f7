import Glibc
import WaylandTestSupport

/// A deliberate defect in an otherwise well-typed message. The header's size always matches the
/// bytes sent, so the stream stays framed and the compositor must still answer a later sync.
enum Malformation: CustomStringConvertible {
    /// The body loses its last `words` 32-bit words.
    case truncated(words: Int)
    /// Bytes after the last argument.
    case trailing([UInt8])
    /// The fds of `h` arguments are not sent.
    case missingFds
    /// Fds no argument asked for.
    case extraFds([(fd: Int32, kind: String)])

    var description: String {
        switch self {
        case .truncated(let w): return "truncated by \(w) words"
        case .trailing(let b): return "\(b.count) trailing bytes"
        case .missingFds: return "fds not sent"
        case .extraFds(let f): return "\(f.count) extra fds (\(f.map(\.kind).joined(separator: ", ")))"
        }
    }
}

extension WireConnection {
    /// Queues request `opcode` of `interface` on object `id`. A `.freshID` argument gets a fresh
    /// id, registered with the argument's interface (wl_registry.bind: the interface and version
    /// given before it) and the object's version; the fresh ids are returned in order.
    @discardableResult
    func request(
        _ id: UInt32, interface: InterfaceSpec, version: UInt32, opcode: Int, _ arguments: [WireValue],
        malformation: Malformation? = nil
    ) -> [UInt32] {
        let spec = opcode < interface.requests.count ? interface.requests[opcode] : nil
        var encoder = WireEncoder()
        var created: [UInt32] = []
        var shown: [String] = []
        for (i, value) in arguments.enumerated() {
            var value = value
            if case .freshID = value {
                let fresh = allocateID()
                if let spec, i < spec.arguments.count, let name = spec.arguments[i].interface {
                    register(id: fresh, interface: name, version: version)
                } else if i >= 2, case .string(let name?) = arguments[i - 2], let v = arguments[i - 1].uint32 {
                    register(id: fresh, interface: String(decoding: name, as: UTF8.self), version: v)
                }
                created.append(fresh)
                value = .newID(fresh)
            }
            encoder.append(value)
            shown.append(value.description)
        }
        var fds = encoder.fds
        switch malformation {
        case .truncated(let words)?: encoder.truncate(to: max(0, encoder.body.count - 4 * words))
        case .trailing(let bytes)?: encoder.appendRaw(bytes)
        case .missingFds?:
            for fd in fds { Glibc.close(fd) }
            fds = []
        case .extraFds(let extra)?: fds += extra.map(\.fd)
        case nil: break
        }
        let name = spec?.name ?? "opcode\(opcode)"
        var text = "\(interface.name)@\(id).\(name)(\(shown.joined(separator: ", ")))"
        if let malformation { text += " [\(malformation)]" }
        enqueue(OutgoingMessage(bytes: encoder.message(object: id, opcode: UInt32(opcode)), fds: fds, text: text))
        if let spec, spec.isDestructor, malformation == nil { markDestroyedByClient(id) }
        return created
    }

    /// The same by name, on an object this connection knows.
    @discardableResult
    func request(_ id: UInt32, _ name: String, _ arguments: [WireValue] = []) -> [UInt32] {
        guard let object = objects[id], let (opcode, _) = object.interface.request(named: name) else { return [] }
        return request(id, interface: object.interface, version: object.version, opcode: opcode, arguments)
    }
}
