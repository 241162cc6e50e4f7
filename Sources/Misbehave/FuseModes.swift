import ClientKit
import CWayland
import Glibc
import SystemPackage

// MARK: A pool on the client's own FUSE file system

extension MisbehaviorRunner {
    /// How long `fuse-pool`'s daemon holds a request of another process before answering it.
    /// FLUSH (sent by every close of the fd) is held until the client exits instead.
    static let fuseHold = Duration.seconds(2)

    /// The pool's file lives on a FUSE file system served by a thread of this process, which then
    /// stalls: every request of another process (GETATTR, STATFS, READ, LSEEK...) is answered
    /// only after `fuseHold`, and FLUSH not before this client exits. A compositor that judges
    /// the fd without calling into the file system refuses it at once (enforce, strict), and its
    /// close of the fd must not wait on the FLUSH where it matters. One that accepts it (guard)
    /// stalls for `fuseHold` whenever it reads the pool: on-demand, when a consumer asks for a
    /// frame, so the mode asks for one (screencopy) and prints how long it took. Bounded, so the
    /// mode ends and exits 0; then the daemon is released and ordinary buffers are rendered.
    /// Everything held is answered and the mount detached before the mode returns or throws.
    func fusePool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let fuse: FuseFileSystem
        do {
            fuse = try FuseFileSystem(size: size, byte: 0x40)
        } catch {
            say("cannot serve its own FUSE file system, so this mode cannot run here: \(error)")
            throw ClientError.system(operation: "fuse-pool: mounting a FUSE file system (needs root and /dev/fuse)", errno: error.errno)
        }
        defer { fuse.stop() }  // answers whatever is still held, detaches the mount, aborts the connection
        report("fuse: serving \(fuse.path), \(size) bytes of 0x40, from a thread of this process")
        let raw = open(fuse.path, O_RDWR | O_CLOEXEC)  // this process's requests are always answered
        guard raw >= 0 else { throw ClientError.system(operation: "open \(fuse.path)", errno: .current) }
        defer { close(raw) }  // before fuse.stop(): its FLUSH is this process's own, answered

        fuse.stall(answerAfter: Self.fuseHold, holdUntilRelease: [.flush])
        let clock = ContinuousClock()
        let sent = clock.now
        let pool = wl_shm_create_pool(shm.proxy, raw, Int32(size))!
        let buffer = wl_shm_pool_create_buffer(pool, 0, Int32(Self.side), Int32(Self.side), Int32(Self.stride), ShmFormat.xrgb8888.rawValue)!
        wl_shm_pool_destroy(pool)
        say("created a wl_shm_pool from a \(size)-byte file on its own FUSE file system (\(fuse.path)); the daemon now answers other processes only after \(FuseFileSystem.format(Self.fuseHold)) (FLUSH: when this client exits)")
        do {
            try roundtrip()
        } catch let error as ProtocolError {
            let refused = clock.now - sent
            let asked = Self.asked(fuse, excludingFlush: true)
            // The compositor then closes the refused fd, and FUSE sends FLUSH from the closing
            // thread and waits for it: held here until this client exits.
            let deadline = clock.now + .milliseconds(500)
            var flush = fuse.foreignRequests.first { $0.opcode == FuseFileSystem.Operation.flush.rawValue }
            while flush == nil, clock.now < deadline {
                usleep(10_000)
                flush = fuse.foreignRequests.first { $0.opcode == FuseFileSystem.Operation.flush.rawValue }
            }
            let close = flush.map {
                "its close of the fd sent FLUSH from \($0.thread == $0.process ? "its main thread" : "thread \($0.thread), not its main thread"), held until this client exits"
            } ?? "its close of the fd sent no FLUSH within 500 ms"
            say("refused after \(FuseFileSystem.format(refused)); the compositor asked the daemon for \(asked) before refusing; \(close)")
            throw error
        }
        say("the pool was accepted after \(FuseFileSystem.format(clock.now - sent)); the compositor asked the daemon for \(Self.asked(fuse))")

        // Shown: on-demand compositing reads nothing yet; every-frame composites it at once.
        wl_surface_attach(toplevel.surface.proxy, buffer, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        let committed = clock.now
        try connection.wait(timeout: .seconds(30)) { frame.isDone }.orThrow(waitingFor: "the frame that shows the FUSE pool")
        say("the frame showing the pool was done after \(FuseFileSystem.format(clock.now - committed))")

        // A consumer's frame composites the pool: the compositor's read of it waits on the daemon.
        let capture = try OutputCapture(connection: connection, timeout: timeout)
        if capture.screencopyVersion != nil {
            let start = clock.now
            let shot = try capture.capture(.screencopy, timeout: .seconds(30))
            let took = clock.now - start
            var shown = 0
            for y in 0..<shot.height { for x in 0..<shot.width where shot.image.rgb(x: x, y: y) == 0x40_4040 { shown += 1 } }
            say("a screencopy, which composites the pool, took \(FuseFileSystem.format(took)) (\(shown) pixels of the pool's 0x404040); the compositor asked the daemon for \(Self.asked(fuse))")
        } else {
            say("the compositor offers no screencopy: nothing makes it read the pool now (its next composite would wait on the daemon)")
        }
        let held = fuse.release()
        say("released the daemon (\(held) request(s) still held were answered)")
        let summary = try render(toplevel, ordinaryBuffers())
        wl_buffer_destroy(buffer)
        return summary
    }

    /// The other processes' requests: "nothing", or "READ (held 2.0 s), FLUSH (held)".
    static func asked(_ fuse: FuseFileSystem, excludingFlush: Bool = false) -> String {
        let requests = fuse.foreignRequests.filter { !excludingFlush || $0.opcode != FuseFileSystem.Operation.flush.rawValue }
        guard !requests.isEmpty else { return "nothing" }
        return requests.map { request in
            switch request.outcome {
            case .answered: return "\(request.name) (answered)"
            case .held: return "\(request.name) (held)"
            case let .answeredAfter(d): return "\(request.name) (held \(FuseFileSystem.format(d)))"
            }
        }.joined(separator: ", ")
    }
}
