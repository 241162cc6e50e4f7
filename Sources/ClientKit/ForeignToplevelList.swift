import CWayland

/// `ext_foreign_toplevel_list_v1`: the compositor's mapped toplevels, each with its title, app id
/// and identifier, updated as events come (use it from the connection's thread).
public final class ForeignToplevelList: EventReceiver {
    let proxy: OpaquePointer
    /// Every handle announced, in order (closed ones stay, marked).
    public private(set) var toplevels: [Handle] = []
    /// `finished`: the list sends nothing more (after `stop`).
    public private(set) var finished = false

    /// One `ext_foreign_toplevel_handle_v1`.
    public final class Handle: EventReceiver {
        let proxy: OpaquePointer
        public private(set) var title = "", appID = "", identifier = ""
        /// A `done` came: the details above are complete.
        public private(set) var done = false
        public private(set) var closed = false

        init(_ proxy: OpaquePointer) {
            self.proxy = proxy
            routeEvents(of: proxy, to: self)
        }

        deinit { ext_foreign_toplevel_handle_v1_destroy(proxy) }

        func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
            switch opcode {
            case 0: closed = true
            case 1: done = true
            case 2: title = arguments.string(0)
            case 3: appID = arguments.string(0)
            case 4: identifier = arguments.string(0)
            default: break
            }
        }
    }

    /// Binds the list and waits (two roundtrips) for the toplevels mapped now and their details.
    public init(registry: Registry, timeout: Duration? = nil) throws {
        proxy = try registry.bind("ext_foreign_toplevel_list_v1", table: cw_ext_foreign_toplevel_list_v1_interface(), maxVersion: 1).proxy
        routeEvents(of: proxy, to: self)
        try registry.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "ext_foreign_toplevel_list_v1.toplevel")
        try registry.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "ext_foreign_toplevel_handle_v1.done")
    }

    deinit { ext_foreign_toplevel_list_v1_destroy(proxy) }

    /// `stop`: the compositor answers `finished` and announces nothing more.
    public func stop() { ext_foreign_toplevel_list_v1_stop(proxy) }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: if let handle = arguments.object(0) { toplevels.append(Handle(handle)) }  // toplevel(new_id)
        case 1: finished = true
        default: break
        }
    }
}
