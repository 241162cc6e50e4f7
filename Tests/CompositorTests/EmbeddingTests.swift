import CWayland
import Dispatch
import Foundation
import Glibc
import Logging
import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// The embedding API the wlcs module uses: a server without a socket on its own thread, driven
/// from another thread through `perform`, with clients connected over socketpairs.
@Suite struct EmbeddingTests {
    @Test func socketpairClientSeesOnlyListedGlobals() throws {
        let embedded = try EmbeddedServer()
        defer { embedded.stop() }
        let client = try #require(embedded.connect())
        defer { wl_display_disconnect(client.display) }

        let seen = Registry.globals(of: client.display)
        #expect(!seen.isEmpty)
        for (interface, version) in seen {
            #expect(Server.advertisedGlobals.contains(AdvertisedGlobal(interface: interface, version: version)),
                    "\(interface) v\(version) is advertised but not in Server.advertisedGlobals")
        }
        // Explicit sync needs a DRM device with timeline syncobjs; without /dev/dri it is not offered.
        if access("/dev/dri", F_OK) != 0 {
            #expect(!seen.contains { $0.0 == "wp_linux_drm_syncobj_manager_v1" }, "explicit sync advertised without a DRM device")
            #expect(embedded.server.syncobjDevice == nil)
        }
    }

    @Test func clientGoneAndShutdownAreReported() throws {
        let embedded = try EmbeddedServer()
        let first = try #require(embedded.connect())
        let second = try #require(embedded.connect())
        #expect(wl_display_roundtrip(second.display) >= 0)

        // A client that hangs up is destroyed on the server's next dispatch.
        wl_display_disconnect(first.display)
        var firstGone = false
        for _ in 0..<200 where !firstGone {
            embedded.server.perform { firstGone = first.destroyed.value }
            usleep(5_000)
        }
        #expect(firstGone)
        #expect(!second.destroyed.value)

        // Stopping destroys the clients still connected; afterwards perform refuses work.
        embedded.stop()
        #expect(second.destroyed.value)
        var ran = false
        #expect(!embedded.server.perform { ran = true })
        #expect(!ran)
        wl_display_disconnect(second.display)
    }

    @Test func performRunsOnTheServerThreadInOrder() throws {
        let embedded = try EmbeddedServer()
        defer { embedded.stop() }
        var order: [Int] = []
        var threads: Set<pthread_t> = []
        for i in 0..<50 {
            #expect(embedded.server.perform {
                order.append(i)
                threads.insert(pthread_self())
            })
        }
        #expect(order == Array(0..<50))
        #expect(threads.count == 1)
        #expect(!threads.contains(pthread_self()))
    }
}

/// A flag written on the server thread and read after `perform` returned (which orders them).
private final class Flag: @unchecked Sendable {
    var value = false
}

/// A listen-less server running on a thread of its own, like the wlcs module runs it.
private final class EmbeddedServer: @unchecked Sendable {
    struct Client {
        let display: OpaquePointer
        let destroyed: Flag
    }

    private(set) var server: Server!
    private var startError: (any Error)?
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init() throws {
        var configuration = ServerConfiguration()
        configuration.listen = false
        configuration.outputDevice = .none
        configuration.width = 320
        configuration.height = 240
        let thread = Thread { [self, configuration] in
            do {
                server = try Server(configuration: configuration, logger: Logger(label: "embedding-test", factory: { _ in SwiftLogNoOpLogHandler() }))
            } catch {
                startError = error
                ready.signal()
                finished.signal()
                return
            }
            ready.signal()
            server.run()
            server.shutdown()
            finished.signal()
        }
        thread.start()
        ready.wait()
        if let startError { throw startError }
    }

    /// Terminates the loop and waits until the server thread has shut the server down.
    func stop() {
        guard !stopped else { return }
        stopped = true
        server.perform { [server] in server!.terminate() }
        finished.wait()
    }

    /// A client connected over a socketpair, as wlcs's create_client_socket does.
    func connect() -> Client? {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return nil }
        let destroyed = Flag()
        var connected = false
        server.perform { [server] in
            connected = server!.connectClient(socket: fds[1]) { _ in destroyed.value = true } != nil
        }
        guard connected else { close(fds[0]); return nil }
        guard let display = wl_display_connect_to_fd(fds[0]) else { return nil }
        return Client(display: display, destroyed: destroyed)
    }
}

/// The globals a client sees: interface name → version.
private enum Registry {
    final class Seen { var globals: [(String, UInt32)] = [] }

    static func globals(of display: OpaquePointer) -> [(String, UInt32)] {
        let seen = Seen()
        // libwayland keeps the listener's address: it must not be a temporary.
        let listener = UnsafeMutablePointer<wl_registry_listener>.allocate(capacity: 1)
        defer { listener.deallocate() }
        listener.initialize(to: wl_registry_listener(
            global: { data, _, _, interface, version in
                let seen = Unmanaged<Seen>.fromOpaque(data!).takeUnretainedValue()
                seen.globals.append((String(cString: interface!), version))
            },
            global_remove: { _, _, _ in }))
        let registry = wl_display_get_registry(display)
        wl_registry_add_listener(registry, listener, Unmanaged.passUnretained(seen).toOpaque())
        wl_display_roundtrip(display)
        wl_registry_destroy(registry)
        return seen.globals
    }
}
