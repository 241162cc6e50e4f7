import Compositor
import Dispatch
import Glibc
import Logging

/// A `Compositor.Server` created, run and shut down on a thread of its own; other threads reach
/// it only through `perform`, which runs their work on that thread and waits for it.
///
/// @unchecked Sendable: `server` and `failure` are written once on the server thread before
/// `ready` is signalled and only read after `start` waited for it; the thread handle is only
/// touched by the thread that calls `start` and `stop` (wlcs's).
final class ServerThread: @unchecked Sendable {
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let ready = DispatchSemaphore(value: 0)
    private var server: Server?
    private(set) var failure: String?
    private var thread: pthread_t?

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Spawns the thread and returns once the server can take calls (or failed to start).
    func start() {
        guard thread == nil else { return }
        var tid = pthread_t()
        let me = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            Unmanaged<ServerThread>.fromOpaque(arg!).takeRetainedValue().main()
            return nil
        }, me)
        guard rc == 0 else {
            Unmanaged<ServerThread>.fromOpaque(me).release()
            failure = "pthread_create: \(String(cString: strerror(rc)))"
            logger.error("compositord-wlcs: cannot start the server thread: \(failure!)")
            return
        }
        thread = tid
        ready.wait()
    }

    /// Ends the loop and waits until the thread has shut the server down (every client
    /// disconnected, the display destroyed), so the next test starts from nothing.
    func stop() {
        guard let tid = thread else { return }
        perform { $0.terminate() }
        pthread_join(tid, nil)
        thread = nil
    }

    /// Runs `body` with the server on its thread and waits for it; false if the server is not
    /// running (it failed to start, or stopped).
    @discardableResult
    func perform(_ body: @escaping (Server) -> Void) -> Bool {
        guard let server else { return false }
        return server.perform { body(server) }
    }

    private func main() {
        let server: Server
        do {
            server = try Server(configuration: configuration, logger: logger)
        } catch {
            failure = "\(error)"
            logger.error("compositord-wlcs: the server did not start: \(error)")
            ready.signal()
            return
        }
        // The test rig's own pointer, touchscreen and keyboard are plugged in before any client connects:
        // wlcs clients create their wl_pointer/wl_touch from the seat's first capabilities
        // event, and a test injects input right after creating its device, without waiting for
        // the client to see a capability change (as with real hardware, present from boot).
        _ = server.addVirtualPointer()
        _ = server.addVirtualTouch()
        _ = server.addVirtualKeyboard()  // focus only: wlcs 1.5 has no key injection
        self.server = server
        ready.signal()
        server.run()
        server.shutdown()
    }
}
