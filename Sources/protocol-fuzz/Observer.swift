import CWayland
import Glibc
import WaylandTestSupport

/// A well-behaved client on its own connection: a 64×64 window that redraws on every frame
/// callback and sends wl_display.sync every second. While the fuzz clients attack, it must keep
/// getting frames and replies; a gap longer than the timeout means the compositor hung.
final class Observer {
    let connection: WireConnection
    private let hangTimeout: Double
    private let fds = FdFactory()
    private(set) var frames = 0
    private(set) var roundtrips = 0
    private(set) var longestFrameGap = 0.0
    private(set) var longestRoundtrip = 0.0
    private var lastFrame: Double
    private let started: Double

    private var globals: [String: (name: UInt32, version: UInt32)] = [:]
    private var registry: UInt32 = 0
    private var registrySync: UInt32 = 0
    private var surface: UInt32 = 0, xdgSurface: UInt32 = 0
    private var buffers: [UInt32] = []
    private var frameCallback: UInt32 = 0
    private var configured = false
    private var pendingSync: (id: UInt32, sent: Double)?
    private var lastSync: Double

    init(socketPath: String, hangTimeout: Double, now: Double) throws {
        self.hangTimeout = hangTimeout
        connection = try WireConnection(path: socketPath, interfaces: Catalog.interface)
        connection.traceEnabled = false
        connection.reusesIDs = true
        lastFrame = now
        lastSync = now
        started = now
        connection.onEvent = { [unowned self] event in self.received(event) }
        registry = connection.request(1, "get_registry", [.freshID])[0]
        registrySync = connection.request(1, "sync", [.freshID])[0]
        connection.flush()
    }

    /// The reason the observer is unhealthy, if it is.
    func problem(now: Double) -> String? {
        if let e = connection.protocolError { return "observer got a protocol error: \(e.key) \(e.message)" }
        if connection.isClosed { return "observer disconnected: \(connection.closedReason ?? "")" }
        if now - lastFrame > hangTimeout {
            return configured
                ? "observer got no frame callback for \(Int(now - lastFrame)) s"
                : "observer's window was not configured within \(Int(now - started)) s"
        }
        if let s = pendingSync, now - s.sent > hangTimeout { return "observer's wl_display.sync unanswered for \(Int(now - s.sent)) s" }
        return nil
    }

    /// Sends the periodic sync.
    func step(now: Double) {
        if pendingSync == nil, now - lastSync >= 1 {
            let id = connection.request(1, "sync", [.freshID])[0]
            pendingSync = (id, now)
            lastSync = now
        }
        connection.flush()
    }

    private func now() -> Double { monotonicSeconds() }

    private func received(_ e: WireEvent) {
        switch (e.interface.name, e.spec.name) {
        case ("wl_registry", "global"):
            if let name = e.arguments[0].uint32, let iface = e.arguments[1].bytes, let v = e.arguments[2].uint32 {
                globals[String(decoding: iface, as: UTF8.self)] = (name, v)
            }
        case ("wl_callback", "done") where e.object == registrySync:
            registrySync = 0  // the id will be reused
            createWindow()
        case ("wl_callback", "done") where e.object == pendingSync?.id:
            let t = now()
            longestRoundtrip = max(longestRoundtrip, t - pendingSync!.sent)
            roundtrips += 1
            pendingSync = nil
        case ("wl_callback", "done") where e.object == frameCallback:
            let t = now()
            longestFrameGap = max(longestFrameGap, t - lastFrame)
            lastFrame = t
            frames += 1
            draw()
        case ("xdg_surface", "configure"):
            connection.request(xdgSurface, "ack_configure", [e.arguments[0]])
            if !configured {
                configured = true
                lastFrame = now()
                draw()
            }
        case ("xdg_wm_base", "ping"):
            connection.request(e.object, "pong", [e.arguments[0]])
        default:
            break
        }
        connection.flush()
    }

    private func bind(_ interface: String, version: UInt32) -> UInt32? {
        guard let g = globals[interface] else { return nil }
        let v = min(version, g.version)
        return connection.request(registry, "bind", [.uint(g.name), .string(Array(interface.utf8)), .uint(v), .freshID]).first
    }

    private func createWindow() {
        guard let compositor = bind("wl_compositor", version: 4), let shm = bind("wl_shm", version: 1),
              let wm = bind("xdg_wm_base", version: 1),
              let file = fds.make(.sealedMemfd, size: 2 * 64 * 64 * 4) else { return }
        guard let pool = connection.request(shm, "create_pool", [.freshID, .fd(file.fd, kind: file.kind), .int(2 * 64 * 64 * 4)]).first
        else { return }
        for i in 0..<2 {
            buffers += connection.request(pool, "create_buffer", [.freshID, .int(Int32(i * 64 * 64 * 4)), .int(64), .int(64), .int(256), .uint(1)])
        }
        connection.request(pool, "destroy")
        surface = connection.request(compositor, "create_surface", [.freshID])[0]
        xdgSurface = connection.request(wm, "get_xdg_surface", [.freshID, .object(surface)])[0]
        let toplevel = connection.request(xdgSurface, "get_toplevel", [.freshID])[0]
        connection.request(toplevel, "set_title", [.string(Array("observer".utf8))])
        connection.request(surface, "commit")
    }

    /// The next frame: the other buffer, all of it damaged, with a frame callback.
    private func draw() {
        guard buffers.count == 2 else { return }
        connection.request(surface, "attach", [.object(buffers[frames % 2]), .int(0), .int(0)])
        connection.request(surface, "damage", [.int(0), .int(0), .int(64), .int(64)])
        frameCallback = connection.request(surface, "frame", [.freshID])[0]
        connection.request(surface, "commit")
    }
}
