import Compositor
import CWayland
import CWlcs
import Glibc
import Logging

/// One WlcsDisplayServer: wlcs makes one per test (create, start, …, stop, destroy). Every
/// call arrives on wlcs's thread and is carried out on the server's own thread.
final class DisplayServer {
    private let options: Options
    private let logger: Logger
    private let descriptor = Descriptor()
    /// Created by `start`, released by `stop`: each start gets a fresh server.
    private var thread: ServerThread?
    /// Server-thread state: the clients connected through `createClientSocket`.
    private var sockets = ClientSockets()

    init(arguments: [String]) {
        options = Options(arguments)
        var logger = Logger(label: "compositord-wlcs", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = options.logLevel
        self.logger = logger
        for problem in options.problems { logger.warning("compositord-wlcs: \(problem)") }
    }

    func start() {
        guard thread == nil else { return }
        let thread = ServerThread(configuration: options.configuration, logger: logger)
        thread.start()
        self.thread = thread
    }

    func stop() {
        thread?.stop()
        thread = nil
        // The server destroyed its clients; their entries are gone with it.
        sockets = ClientSockets()
    }

    func createClientSocket() -> Int32 {
        guard let thread else { errno = ENOTCONN; return -1 }
        return sockets.connect(through: thread)
    }

    /// `client` and `surface` are wlcs's client-side proxies: the connection's fd finds the
    /// server-side client, the proxy id is the surface's object id there.
    func positionWindow(client: OpaquePointer, surface: OpaquePointer, x: Int32, y: Int32) {
        let id = wl_proxy_get_id(surface)
        let sockets = sockets, logger = logger
        thread?.perform { server in
            guard let serverClient = sockets.client(for: client) else {
                logger.error("compositord-wlcs: position_window_absolute for a client it did not connect")
                return
            }
            server.positionWindow(client: serverClient, surfaceID: id, x: x, y: y)
        }
    }

    func createPointer() -> UnsafeMutablePointer<WlcsPointer>? {
        guard let thread else { return nil }
        return VirtualPointer(thread).makeRaw()
    }

    func createTouch() -> UnsafeMutablePointer<WlcsTouch>? {
        guard let thread else { return nil }
        return VirtualTouch(thread).makeRaw()
    }

    var descriptorPointer: UnsafePointer<WlcsIntegrationDescriptor> { UnsafePointer(descriptor.raw) }

    // MARK: the C struct wlcs holds

    /// Allocates the WlcsDisplayServer wlcs gets; `destroyRaw` frees it and releases `self`.
    func makeRaw() -> UnsafeMutablePointer<WlcsDisplayServer> {
        let raw = UnsafeMutablePointer<cwlcs_display_server>.allocate(capacity: 1)
        raw.initialize(to: cwlcs_display_server(
            base: WlcsDisplayServer(
                version: UInt32(WLCS_DISPLAY_SERVER_VERSION),
                start: { s in DisplayServer.owner(s).start() },
                stop: { s in DisplayServer.owner(s).stop() },
                create_client_socket: { s in DisplayServer.owner(s).createClientSocket() },
                position_window_absolute: { s, display, surface, x, y in
                    guard let display, let surface else { return }
                    DisplayServer.owner(s).positionWindow(client: display, surface: surface, x: x, y: y)
                },
                create_pointer: { s in DisplayServer.owner(s).createPointer() },
                create_touch: { s in DisplayServer.owner(s).createTouch() },
                get_descriptor: { s in DisplayServer.owner(UnsafeMutablePointer(mutating: s)).descriptorPointer },
                // `start` is provided, so wlcs runs us on our own thread.
                start_on_this_thread: nil),
            owner: Unmanaged.passRetained(self).toOpaque()))
        return UnsafeMutableRawPointer(raw).assumingMemoryBound(to: WlcsDisplayServer.self)
    }

    static func destroyRaw(_ s: UnsafeMutablePointer<WlcsDisplayServer>) {
        let container = UnsafeMutableRawPointer(s).assumingMemoryBound(to: cwlcs_display_server.self)
        let owner = Unmanaged<DisplayServer>.fromOpaque(container.pointee.owner).takeRetainedValue()
        owner.stop()
        container.deinitialize(count: 1)
        container.deallocate()
    }

    private static func owner(_ s: UnsafeMutablePointer<WlcsDisplayServer>?) -> DisplayServer {
        let container = UnsafeMutableRawPointer(s!).assumingMemoryBound(to: cwlcs_display_server.self)
        return Unmanaged<DisplayServer>.fromOpaque(container.pointee.owner).takeUnretainedValue()
    }
}
