import CWayland

/// A connection with the globals a shell client needs bound: `wl_compositor`, `wl_shm` and
/// `xdg_wm_base`. Objects made from it keep it (and so the connection) alive.
public final class ClientContext {
    public let connection: Connection
    public let registry: Registry
    let compositor: OpaquePointer
    public let compositorVersion: UInt32
    public let shm: Shm
    public let wmBase: WMBase

    /// Binds the globals after one roundtrip, then a second roundtrip collects `wl_shm.format`.
    /// Throws `ClientError.missingGlobal` if the compositor lacks one.
    public init(connection: Connection, timeout: Duration? = nil) throws {
        self.connection = connection
        registry = Registry(connection: connection)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the registry")

        // damage_buffer needs wl_compositor 4; version 6 adds wl_surface.preferred_buffer_scale and
        // preferred_buffer_transform, which need compositord's own v6 tables (libwayland 1.21's
        // stop at 5, and a v5 table cannot decode the new events).
        let compositor = try registry.bind("wl_compositor", table: cw_wl_compositor_v6(), minVersion: 4, maxVersion: 6)
        let shm = try registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1)
        let wmBase = try registry.bind("xdg_wm_base", table: cw_xdg_wm_base_interface(), maxVersion: 5)
        self.compositor = compositor.proxy
        self.compositorVersion = compositor.version
        self.shm = Shm(connection: connection, proxy: shm.proxy)
        self.wmBase = WMBase(connection: connection, proxy: wmBase.proxy, version: wmBase.version)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "wl_shm formats")
    }

    /// Connects to `displayName` (nil: `WAYLAND_DISPLAY`) and binds the globals.
    public convenience init(displayName: String?, timeout: Duration? = nil) throws {
        try self.init(connection: Connection(displayName: displayName), timeout: timeout)
    }

    deinit {
        wl_compositor_destroy(compositor)
    }
}
