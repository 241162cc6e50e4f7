import CWayland

/// `xdg_activation_v1`: tokens (with the serial of an input event the client got) and
/// activation of a surface's window with one (use it from the connection's thread).
public final class XdgActivation: EventReceiver {
    let proxy: OpaquePointer
    let connection: Connection
    private var done: [OpaquePointer: String] = [:]

    public init(registry: Registry) throws {
        proxy = try registry.bind("xdg_activation_v1", table: cw_xdg_activation_v1_interface(), maxVersion: 1).proxy
        connection = registry.connection
    }

    deinit { xdg_activation_v1_destroy(proxy) }

    /// A token from `get_activation_token`, with `serial` on `keyboard`'s seat when given.
    public func token(serial: UInt32?, seat keyboard: Keyboard, timeout: Duration? = nil) throws -> String {
        guard let token = xdg_activation_v1_get_activation_token(proxy) else { throw ClientError.system(operation: "get_activation_token", errno: .noMemory) }
        routeEvents(of: token, to: self)
        if let serial { xdg_activation_token_v1_set_serial(token, serial, keyboard.seat) }
        xdg_activation_token_v1_commit(token)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "xdg_activation_token_v1.done")
        defer { xdg_activation_token_v1_destroy(token) }
        return done[token] ?? ""
    }

    /// `activate`: asks for `surface`'s window to be activated with `token`.
    public func activate(token: String, surface: Surface) {
        xdg_activation_v1_activate(proxy, token, surface.proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if opcode == 0 { done[proxy] = arguments.string(0) }
    }
}
