import CWayland

/// One global the compositor advertises (`wl_registry.global`).
public struct Global: Sendable, Hashable, CustomStringConvertible {
    public var name: UInt32
    public var interface: String
    public var version: UInt32

    public init(name: UInt32, interface: String, version: UInt32) {
        self.name = name
        self.interface = interface
        self.version = version
    }

    public var description: String { "\(interface) v\(version)" }
}

/// The `wl_registry`: the live list of globals, and binding to them.
public final class Registry: EventReceiver {
    public let connection: Connection
    private let proxy: OpaquePointer
    /// In announcement order; removed globals are dropped.
    public private(set) var globals: [Global] = []

    /// Creates the registry. The globals arrive with the next roundtrip.
    public init(connection: Connection) {
        self.connection = connection
        self.proxy = wl_display_get_registry(connection.display)
        routeEvents(of: proxy, to: self)
    }

    deinit {
        wl_registry_destroy(proxy)
    }

    /// The first global with this interface name (e.g. "xdg_wm_base").
    public func global(_ interface: String) -> Global? {
        globals.first { $0.interface == interface }
    }

    /// Binds the global named `interface` at `min(advertised, maxVersion)`, which must be at
    /// least `minVersion`. Returns the new proxy and the version bound.
    public func bind(
        _ interface: String, table: UnsafePointer<wl_interface>, minVersion: UInt32 = 1, maxVersion: UInt32
    ) throws -> (proxy: OpaquePointer, version: UInt32) {
        guard let global = global(interface), global.version >= minVersion else {
            throw ClientError.missingGlobal(interface: interface, minimumVersion: minVersion)
        }
        let version = min(global.version, maxVersion)
        guard let raw = wl_registry_bind(proxy, global.name, table, version) else {
            throw ClientError.system(operation: "wl_registry.bind \(interface)", errno: .noMemory)
        }
        return (OpaquePointer(raw), version)
    }

    /// Binds one particular global (e.g. the second `wl_output`) at `min(its version, maxVersion)`.
    func bind(
        _ global: Global, table: UnsafePointer<wl_interface>, maxVersion: UInt32
    ) throws -> (proxy: OpaquePointer, version: UInt32) {
        let version = min(global.version, maxVersion)
        guard let raw = wl_registry_bind(proxy, global.name, table, version) else {
            throw ClientError.system(operation: "wl_registry.bind \(global.interface)", errno: .noMemory)
        }
        return (OpaquePointer(raw), version)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // global(name, interface, version)
            globals.append(Global(name: arguments.uint(0), interface: arguments.string(1), version: arguments.uint(2)))
        case 1: // global_remove(name)
            let name = arguments.uint(0)
            globals.removeAll { $0.name == name }
        default:
            break
        }
    }
}

extension Connection {
    /// Lists the compositor's globals (one registry, one roundtrip).
    public func listGlobals() throws -> [Global] {
        let registry = Registry(connection: self)
        try roundtrip().orThrow(waitingFor: "the registry")
        return registry.globals
    }
}
