/// One argument of a message, from its signature character and `types` entry.
public struct ArgumentSpec: Sendable {
    /// The signature character: i u f s o n a h.
    public let type: UInt8
    public let nullable: Bool
    /// The interface of an `o` or `n` argument (nil: any, or wl_registry.bind's dynamic new_id).
    public let interface: String?

    public init(type: UInt8, nullable: Bool, interface: String?) {
        self.type = type
        self.nullable = nullable
        self.interface = interface
    }
}

/// One request or event, as libwayland's `wl_message` tables describe it.
public struct MessageSpec: Sendable {
    public let name: String
    public let since: UInt32
    public let arguments: [ArgumentSpec]
    /// The tables do not mark destructors; in every protocol compositord speaks they are the
    /// requests named destroy or release.
    public var isDestructor: Bool { name == "destroy" || name == "release" }

    public init(name: String, since: UInt32, arguments: [ArgumentSpec]) {
        self.name = name
        self.since = since
        self.arguments = arguments
    }

    /// Parses a `wl_message` signature such as "2?ou": leading digits are the version the message
    /// appeared in, `?` makes the next argument nullable. `types(i)` is the interface of argument
    /// `i` (the message's `types` entry), nil for none.
    public init(name: String, signature: String, types: (Int) -> String? = { _ in nil }) {
        var since: UInt32 = 0
        var arguments: [ArgumentSpec] = []
        var nullable = false
        for c in signature.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                since = since * 10 + UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "?"):
                nullable = true
            default:
                arguments.append(ArgumentSpec(type: c, nullable: nullable, interface: types(arguments.count)))
                nullable = false
            }
        }
        self.init(name: name, since: max(since, 1), arguments: arguments)
    }
}

public final class InterfaceSpec: Sendable {
    public let name: String
    public let version: UInt32
    public let requests: [MessageSpec]
    public let events: [MessageSpec]

    public init(name: String, version: UInt32, requests: [MessageSpec], events: [MessageSpec]) {
        self.name = name
        self.version = version
        self.requests = requests
        self.events = events
    }

    public func request(named name: String) -> (opcode: Int, spec: MessageSpec)? {
        guard let i = requests.firstIndex(where: { $0.name == name }) else { return nil }
        return (i, requests[i])
    }
}

/// The three interfaces every connection speaks before binding anything (wayland.xml's
/// wl_display, wl_registry and wl_callback, version 1): what a `WireConnection` needs to read
/// errors, delete_id, globals and sync callbacks without a full protocol table. The fuzzer
/// passes its `Catalog` (libwayland's compiled tables) instead.
public enum CoreProtocol {
    public static let interfaces: [String: InterfaceSpec] = {
        let display = InterfaceSpec(
            name: "wl_display", version: 1,
            requests: [MessageSpec(name: "sync", signature: "n") { _ in "wl_callback" },
                       MessageSpec(name: "get_registry", signature: "n") { _ in "wl_registry" }],
            events: [MessageSpec(name: "error", signature: "ous"), MessageSpec(name: "delete_id", signature: "u")])
        let registry = InterfaceSpec(
            name: "wl_registry", version: 1,
            requests: [MessageSpec(name: "bind", signature: "usun")],
            events: [MessageSpec(name: "global", signature: "usu"), MessageSpec(name: "global_remove", signature: "u")])
        let callback = InterfaceSpec(
            name: "wl_callback", version: 1, requests: [], events: [MessageSpec(name: "done", signature: "u")])
        return [display.name: display, registry.name: registry, callback.name: callback]
    }()

    public static func interface(_ name: String) -> InterfaceSpec? { interfaces[name] }
}
