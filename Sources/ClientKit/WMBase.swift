import CWayland

/// The bound `xdg_wm_base`. Answers the compositor's liveness pings, which would otherwise
/// get the client flagged as unresponsive.
public final class WMBase: EventReceiver {
    public let connection: Connection
    let proxy: OpaquePointer
    public let version: UInt32
    /// Number of pings answered (handy for tests).
    public private(set) var pingsAnswered = 0

    init(connection: Connection, proxy: OpaquePointer, version: UInt32) {
        self.connection = connection
        self.proxy = proxy
        self.version = version
        routeEvents(of: proxy, to: self)
    }

    deinit {
        // Every xdg_surface holds a strong reference to this object, so none are left here
        // (destroying xdg_wm_base with live surfaces is the defunct_surfaces error).
        xdg_wm_base_destroy(proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        guard opcode == 0 else { return } // ping(serial)
        xdg_wm_base_pong(proxy, arguments.uint(0))
        pingsAnswered += 1
    }
}
