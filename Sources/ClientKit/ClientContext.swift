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

    private var boundLinuxDmabuf: LinuxDmabuf?

    /// `zwp_linux_dmabuf_v1`, bound on first use at the highest version up to 4 (at least 2, for
    /// `create_immed`), with what the compositor supports already collected: the `format` and
    /// `modifier` events (versions 2 and 3) or the default feedback (4). Later calls return the
    /// same object. Throws `ClientError.missingGlobal` if the compositor lacks it.
    public func linuxDmabuf(timeout: Duration? = nil) throws -> LinuxDmabuf {
        if let boundLinuxDmabuf { return boundLinuxDmabuf }
        let bound = try registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), minVersion: 2, maxVersion: 4)
        let dmabuf = LinuxDmabuf(connection: connection, proxy: bound.proxy, version: bound.version)
        try dmabuf.collectFormats(timeout: timeout)
        boundLinuxDmabuf = dmabuf
        return dmabuf
    }
}
