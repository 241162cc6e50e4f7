import ClientKit
import CWayland
import Glibc
import SystemPackage

// MARK: Slow and greedy clients

/// The compositor closed the connection of a `never-read` client without an error event, as it
/// must: an error could not reach a client whose socket is full.
public struct MisbehaviorDisconnected: Error, CustomStringConvertible, Sendable {
    /// Requests sent before the compositor hung up.
    public var requests: Int
    public var errno: Errno

    public var description: String {
        "the compositor closed the connection after \(requests) requests (\(errno)), without an error event"
    }
}

extension MisbehaviorRunner {
    /// Requests after which `never-read` gives up waiting to be disconnected.
    static let neverReadLimit = 2_000_000

    func neverRead() throws -> FrameLoop.Summary? {
        let toplevel = try mappedWindow()
        let buffers = try ordinaryBuffers()
        DemoPattern.draw(into: buffers.buffers[0], frame: 0)
        let first = toplevel.present(buffers.buffers[0])!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
        say("commits with a frame callback and sends wl_display.sync over and over, and never reads its socket")

        // From here on only writes: libwayland-client reads nothing unless asked to.
        let display = connection.display
        let surface = toplevel.surface.proxy
        let clock = ContinuousClock()
        let deadline = clock.now + (timeout ?? .seconds(60))
        var requests = 0
        while requests < Self.neverReadLimit && clock.now < deadline {
            // The proxies go at once (client side only): their answers would go unread anyway.
            wl_callback_destroy(wl_surface_frame(surface))
            wl_surface_commit(surface)
            wl_callback_destroy(wl_display_sync(display))
            requests += 3
            guard wl_display_flush(display) < 0 else { continue }
            let code = Glibc.errno
            if code == EAGAIN {
                // The compositor is not reading us right now: wait until the socket drains a
                // little, without reading (POLLOUT only).
                var fd = pollfd(fd: wl_display_get_fd(display), events: Int16(POLLOUT), revents: 0)
                _ = poll(&fd, 1, 100)
                continue
            }
            // EPIPE or ECONNRESET: the compositor hung up. Whatever it sent is still in the
            // socket; read it now, so that an error event, had there been one, is reported.
            _ = try? connection.roundtrip(timeout: .seconds(5))
            if let error = connection.error as? ProtocolError { throw error }
            throw MisbehaviorDisconnected(requests: requests, errno: Errno(rawValue: code))
        }
        say("still connected after \(requests) requests")
        return nil
    }

    func hoardBuffers() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let clock = ContinuousClock()
        let start = clock.now
        // 1. A fresh buffer every frame, at the end of a pool that doubles when full; none is
        //    reused or destroyed, and no release is waited for.
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: Self.bufferSize))
        var hoard: [ShmBuffer] = []
        for frame in 0..<frames {
            let offset = hoard.count * Self.bufferSize
            if offset + Self.bufferSize > pool.size { try pool.grow(to: 2 * pool.size) }
            let buffer = ShmBuffer(pool: pool, offset: offset, width: Self.side, height: Self.side, format: .xrgb8888)
            hoard.append(buffer)
            DemoPattern.draw(into: buffer, frame: frame)
            let done = toplevel.present(buffer)!
            try connection.wait(timeout: Self.frameGrace) { done.isDone }.orThrow(waitingFor: "frame \(frame)")
        }
        let released = hoard.filter { $0.releaseCount > 0 }.count
        // 2. The last buffer stays attached: drawn into while the compositor holds it, damaged
        //    and committed every frame, never released.
        let kept = hoard[hoard.count - 1]
        for frame in 0..<frames {
            DemoPattern.draw(into: kept, frame: frame)
            toplevel.surface.damageBuffer(x: 0, y: 0, width: kept.width, height: kept.height)
            let done = toplevel.surface.requestFrame()
            toplevel.surface.commit()
            try connection.wait(timeout: Self.frameGrace) { done.isDone }.orThrow(waitingFor: "frame \(frames + frame)")
        }
        try roundtrip("the last frame")
        say("attached \(hoard.count) buffers without reusing or destroying any (\(released) released, pool now \(pool.size) bytes), then drew into the last one while attached for \(frames) frames (released \(kept.releaseCount) times)")
        return FrameLoop.Summary(frames: 2 * frames, elapsed: clock.now - start, stopReason: .completed)
    }
}
