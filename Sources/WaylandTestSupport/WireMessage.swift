import Glibc

/// One argument on the wire (Wayland's native byte order, 32-bit words). Values the protocol
/// forbids are representable on purpose (the fuzzer sends them).
public enum WireValue: CustomStringConvertible {
    case int(Int32)
    case uint(UInt32)
    /// 24.8 fixed point, as its raw 32-bit value.
    case fixed(Int32)
    /// The bytes without the terminating NUL; nil is the null string (length 0).
    case string([UInt8]?)
    /// A string whose length field says `length` whatever the bytes are (malformed on purpose).
    case lyingString(length: UInt32, bytes: [UInt8])
    /// An object id; 0 is null.
    case object(UInt32)
    case newID(UInt32)
    /// A new_id the connection allocates (the next free id) and registers when it sends.
    case freshID
    case array([UInt8])
    /// A file descriptor: sent out of band (SCM_RIGHTS), nothing in the body.
    case fd(Int32, kind: String)

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .uint(let v): return v > 0xFFFF ? "0x" + String(v, radix: 16) : "\(v)"
        case .fixed(let v): return "\(Double(v) / 256)f"
        case .string(nil): return "nil"
        case .string(let b?):
            let s = String(decoding: b.prefix(40), as: UTF8.self).replacingControlCharacters()
            return "\"\(s)\"" + (b.count > 40 ? "…(\(b.count) bytes)" : "")
        case .lyingString(let length, let bytes): return "string(length \(length), \(bytes.count) bytes)"
        case .object(0): return "null"
        case .object(let id): return "@\(id)"
        case .newID(let id): return "new @\(id)"
        case .freshID: return "new"
        case .array(let b): return "array(\(b.count) bytes)"
        case .fd(_, let kind): return "fd(\(kind))"
        }
    }

    public var uint32: UInt32? {
        switch self {
        case .uint(let v), .object(let v), .newID(let v): return v
        case .int(let v), .fixed(let v): return UInt32(bitPattern: v)
        default: return nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .string(let b): return b
        case .array(let b): return b
        default: return nil
        }
    }
}

private extension String {
    func replacingControlCharacters() -> String {
        String(unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "." : Character($0) })
    }
}

/// A request ready to send: the bytes of one message and the fds that go with it.
public struct OutgoingMessage {
    public var bytes: [UInt8]
    /// Closed once sent (or dropped) when `ownsFds`; otherwise the caller's, left open.
    public var fds: [Int32]
    /// For the trace, e.g. `wl_surface@7.attach(@9, 0, 0)`.
    public var text: String
    public var ownsFds: Bool

    public init(bytes: [UInt8], fds: [Int32] = [], text: String, ownsFds: Bool = true) {
        self.bytes = bytes
        self.fds = fds
        self.text = text
        self.ownsFds = ownsFds
    }

    /// Closes the fds if the message owns them.
    func closeFds() {
        if ownsFds { for fd in fds { Glibc.close(fd) } }
    }
}

/// Little-endian (host order on every Linux Wayland runs on) message building.
public struct WireEncoder {
    public private(set) var body: [UInt8] = []
    public private(set) var fds: [Int32] = []

    public init() {}

    public mutating func word(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { body.append(contentsOf: $0) }
    }

    private mutating func padded(_ bytes: [UInt8]) {
        body.append(contentsOf: bytes)
        while body.count % 4 != 0 { body.append(0) }
    }

    public mutating func append(_ value: WireValue) {
        switch value {
        case .int(let v), .fixed(let v): word(UInt32(bitPattern: v))
        case .uint(let v), .object(let v), .newID(let v): word(v)
        case .string(nil): word(0)
        case .string(let b?):
            word(UInt32(b.count + 1))
            padded(b + [0])
        case .lyingString(let length, let bytes):
            word(length)
            padded(bytes)
        case .array(let b):
            word(UInt32(b.count))
            padded(b)
        case .fd(let fd, _): if fd >= 0 { fds.append(fd) }
        case .freshID: preconditionFailure("fresh ids are allocated before encoding")
        }
    }

    public mutating func appendRaw(_ bytes: [UInt8]) { body.append(contentsOf: bytes) }
    public mutating func truncate(to count: Int) { body.removeLast(max(0, body.count - count)) }

    /// One well-formed message of `arguments` (fds go in `fds`, in order).
    public static func encode(object: UInt32, opcode: UInt32, _ arguments: [WireValue]) -> (bytes: [UInt8], fds: [Int32]) {
        var encoder = WireEncoder()
        for value in arguments { encoder.append(value) }
        return (encoder.message(object: object, opcode: opcode), encoder.fds)
    }

    /// The header and body; `size` overrides the header's size field (malformed on purpose).
    public func message(object: UInt32, opcode: UInt32, size: UInt32? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + body.count)
        let total = size ?? UInt32(8 + body.count)
        withUnsafeBytes(of: object.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: ((total & 0xFFFF) << 16 | (opcode & 0xFFFF)).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: body)
        return out
    }
}

/// A decoded event.
public struct WireEvent {
    public let object: UInt32
    public let opcode: UInt32
    public let interface: InterfaceSpec
    public let spec: MessageSpec
    public let arguments: [WireValue]
}

public enum WireDecoder {
    /// Reads the 8-byte header at `offset`: the object id, opcode and size (in bytes).
    public static func header(_ bytes: [UInt8], at offset: Int) -> (object: UInt32, opcode: UInt32, size: Int)? {
        guard bytes.count - offset >= 8 else { return nil }
        let object = word(bytes, offset)
        let second = word(bytes, offset + 4)
        return (object, second & 0xFFFF, Int(second >> 16))
    }

    public static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// Decodes the arguments of one message body against `spec`; nil if the body is too short.
    /// Received fds are not carried (the caller closes every fd it receives).
    public static func arguments(_ bytes: [UInt8], from start: Int, to end: Int, spec: MessageSpec) -> [WireValue]? {
        var p = start
        var out: [WireValue] = []
        for arg in spec.arguments {
            if arg.type == UInt8(ascii: "h") { out.append(.fd(-1, kind: "received")); continue }
            guard p + 4 <= end else { return nil }
            let w = word(bytes, p)
            p += 4
            switch arg.type {
            case UInt8(ascii: "i"): out.append(.int(Int32(bitPattern: w)))
            case UInt8(ascii: "u"): out.append(.uint(w))
            case UInt8(ascii: "f"): out.append(.fixed(Int32(bitPattern: w)))
            case UInt8(ascii: "o"): out.append(.object(w))
            case UInt8(ascii: "n"): out.append(.newID(w))
            case UInt8(ascii: "s"), UInt8(ascii: "a"):
                let length = Int(w)
                let padded = (length + 3) & ~3
                guard length >= 0, p + padded <= end else { return nil }
                var data = Array(bytes[p..<(p + length)])
                p += padded
                if arg.type == UInt8(ascii: "s") {
                    if length == 0 { out.append(.string(nil)); continue }
                    if data.last == 0 { data.removeLast() }
                    out.append(.string(data))
                } else {
                    out.append(.array(data))
                }
            default: return nil
            }
        }
        return out
    }
}
