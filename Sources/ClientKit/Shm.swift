import CWayland

/// `wl_shm` pixel formats this kit draws (the codes of `wl_shm.format`).
public enum ShmFormat: UInt32, Sendable, CaseIterable {
    case argb8888 = 0
    case xrgb8888 = 1

    public var bytesPerPixel: Int { 4 }
}

/// The bound `wl_shm` global and the formats it announced.
public final class Shm: EventReceiver {
    public let connection: Connection
    /// The wl_shm proxy, for requests ClientKit does not wrap.
    public let proxy: OpaquePointer
    /// Format codes from `wl_shm.format` (may include formats `ShmFormat` does not name).
    public private(set) var formats: [UInt32] = []

    init(connection: Connection, proxy: OpaquePointer) {
        self.connection = connection
        self.proxy = proxy
        routeEvents(of: proxy, to: self)
    }

    deinit {
        wl_shm_destroy(proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if opcode == 0 { formats.append(arguments.uint(0)) } // format
    }
}
