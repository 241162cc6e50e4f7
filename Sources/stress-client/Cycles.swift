import ClientKit
import CWayland
import Glibc
import WaylandTestSupport

/// Connect/disconnect cycles: each connects, binds a few globals, sometimes makes a pool and a
/// buffer and sometimes a window with a committed frame, then leaves one of three ways: cleanly
/// (after a roundtrip), abruptly (requests still in flight), or in the middle of a message.
struct Cycles {
    enum Ending: CaseIterable {
        /// A roundtrip first: the compositor has handled everything.
        case clean
        /// Requests queued and flushed, then the socket closed at once.
        case abrupt
        /// Like abrupt, plus the first half of a message header written raw before closing.
        case partial
    }

    struct Counts: Sendable {
        var done = 0
        var clean = 0, abrupt = 0, partial = 0
        var pools = 0, windows = 0
        var failures = 0
        var firstFailure: String?
        var seconds = 0.0
    }

    let displayName: String?
    let timeout: Duration

    /// Runs `count` cycles, or fewer if `stop` turns true; a failed cycle is counted and the next
    /// one starts.
    func run(count: Int, seed: UInt64, stop: () -> Bool) -> Counts {
        var rng = SplitMix(seed: seed)
        var counts = Counts()
        let start = monotonicSeconds()
        for _ in 0..<count {
            if stop() { break }
            do {
                try cycle(&rng, &counts)
            } catch {
                counts.failures += 1
                if counts.firstFailure == nil { counts.firstFailure = "\(error)" }
            }
            counts.done += 1
        }
        counts.seconds = monotonicSeconds() - start
        return counts
    }

    private func cycle(_ rng: inout SplitMix, _ counts: inout Counts) throws {
        let context = try ClientContext(displayName: displayName, timeout: timeout)
        // The raw wl_output and wl_seat proxies must go before the connection does.
        try withExtendedLifetime(context) { try cycle(context, &rng, &counts) }
    }

    private func cycle(_ context: ClientContext, _ rng: inout SplitMix, _ counts: inout Counts) throws {
        let connection = context.connection
        // wl_output and wl_seat too, released again (client-side proxies would leak otherwise).
        let output = try context.registry.bind("wl_output", table: cw_wl_output_interface(), minVersion: 3, maxVersion: 4)
        let seat = try context.registry.bind("wl_seat", table: cw_wl_seat_interface(), minVersion: 5, maxVersion: 7)
        defer {
            wl_output_release(output.proxy)
            wl_seat_release(seat.proxy)
        }

        let roll = Int.random(in: 0..<100, using: &rng)
        var buffers: BufferSet<ShmBuffer>?
        var toplevel: Toplevel?
        if roll < 50 {
            let set = try BufferSet(shm: context.shm, width: 64, height: 64, format: .xrgb8888, count: 1)
            DemoPattern.draw(into: set.buffers[0], frame: roll)
            buffers = set
            counts.pools += 1
        }
        if roll < 15, let buffers {
            let window = Toplevel(context: context, title: "stress-client cycle", appID: "stress-client")
            try window.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the first configure")
            _ = window.present(buffers.buffers[0])
            toplevel = window
            counts.windows += 1
        }

        let ending = Ending.allCases.randomElement(using: &rng)!
        switch ending {
        case .clean:
            try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the last roundtrip")
            counts.clean += 1
        case .abrupt, .partial:
            // More work for the compositor that the client will never wait for.
            // A new registry makes the compositor answer with every global, into a closing socket.
            if let toplevel, let buffer = buffers?.buffers[0] { _ = toplevel.present(buffer) }
            let registry = Registry(connection: connection)
            try connection.flush()
            withExtendedLifetime(registry) {}
            if ending == .partial {
                // An object id and half a header: the compositor reads 4 of the 8 bytes it needs.
                var half: UInt32 = 1
                _ = send(connection.fileDescriptor.rawValue, &half, 4, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                counts.partial += 1
            } else {
                counts.abrupt += 1
            }
        }
        // Leaving scope drops the window, buffers and context, then disconnects.
        withExtendedLifetime((toplevel, buffers)) {}
    }
}
