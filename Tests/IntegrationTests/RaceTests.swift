import ClientKit
import Foundation
import PNG
import Testing

/// Issue 9, races, each against a real compositord with an observer window running: clients that
/// vanish mid-frame, a wl_buffer destroyed between its commit and the composite, a pool grown
/// while its buffer waits to be read, and captures in flight at shutdown. compositord stays up
/// (but for the shutdown), the observer keeps its frame rate, and no descriptor is left behind.
@Suite struct RaceTests {
    static let wait = Duration.seconds(30)

    /// Runs `race` against compositord (1280x720) with the observer window (64x64 at 32,32)
    /// drawing, then: compositord alive, its fd count back at the baseline taken before the race,
    /// no protocol error logged, the observer unharmed, exit 0 on SIGTERM.
    static func race(_ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                     _ race: (CompositorProcess) throws -> Void) throws {
        let c = try CompositorProcess(["--width", "1280", "--height", "720"])
        let observer = try StressClientRun.ready(c, ["--observer"], tag: "observer")
        let baseline = c.footprint.fds
        try race(c)
        #expect(c.isRunning, "\(what): compositord died", sourceLocation: sourceLocation)
        #expect(c.waitForFDCount(baseline) == baseline, "\(what): descriptors left behind", sourceLocation: sourceLocation)
        #expect(!c.log.contains("protocol error"), "\(what): \(c.log.suffix(2000))", sourceLocation: sourceLocation)
        observer.expectUnharmed(what, sourceLocation: sourceLocation)
        #expect(c.terminate().status == 0, sourceLocation: sourceLocation)
    }

    /// An in-process client with one mapped toplevel (the second window: at 64,64).
    static func window(_ c: CompositorProcess) throws -> (Connection, ClientContext, Toplevel) {
        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let context = try ClientContext(connection: connection, timeout: wait)
        let toplevel = Toplevel(context: context, title: "race", appID: "race")
        try toplevel.waitForConfigure(timeout: wait).orThrow(waitingFor: "the first configure")
        return (connection, context, toplevel)
    }

    /// An opaque colour for frame `i` (never the background's).
    static func colour(_ i: Int) -> UInt32 { 0xFF00_0000 | UInt32(truncatingIfNeeded: (i * 0x3B5D7) & 0xFF_FFFF) | 0x80 }

    /// The middle of the race window (200x200 at 64,64) shows frame `i`'s colour.
    static func expectOnScreen(_ c: CompositorProcess, frame i: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = colour(i) & 0xFF_FFFF
        let shot = try c.screenshot { $0.rgb(164, 164) == want }
        #expect(shot.rgb(164, 164) == want, "on screen 0x\(String(shot.rgb(164, 164), radix: 16)), last committed 0x\(String(want, radix: 16))",
                sourceLocation: sourceLocation)
    }

    /// Sockets closed with commits in flight at random points of the frame clock (stress-client
    /// --churn: 300 windows, each dropped 0-20 ms into a frame after 1-8 frames), then whole
    /// client processes SIGKILLed at random moments while their windows render.
    @Test func clientsVanishingMidFrameLeaveNoTrace() throws {
        try Self.race("churn 300 + SIGKILL x8") { c in
            let churn = try StressClientRun(c, ["--renderers", "16", "--churn", "300", "--seed", "9"], tag: "churn")
            let r = churn.wait(timeout: 300)
            #expect(r.status == 0, "churn: \(r.stderr)")
            #expect(stressFields(r.stdout, "churn:")["dropped"] == "300", "\(r.stdout)")
            #expect(c.isRunning, "compositord died during the churn")

            var rng = SystemRandomNumberGenerator()
            for round in 0..<8 {
                let victim = try StressClientRun.ready(c, ["--renderers", "8"], tag: "kill-\(round)")
                usleep(UInt32.random(in: 0..<250_000, using: &rng))
                victim.child.signal(SIGKILL)
                victim.child.wait(timeout: 10)
                #expect(c.isRunning, "compositord died after SIGKILL round \(round)")
            }
        }
    }

    /// Each frame's wl_buffer (and every other frame its wl_shm_pool) is destroyed in the same
    /// flush as the commit that attaches it, so compositord composites a buffer whose client
    /// object is gone; sometimes several such commits land between two composites. The content
    /// stays on screen (the spec: destroying a buffer does not change the surface's content).
    @Test func bufferDestroyedBetweenCommitAndComposite() throws {
        try Self.race("buffer destroyed after commit x240") { c in
            let (connection, context, toplevel) = try Self.window(c)
            for i in 0..<240 {
                let set = try BufferSet(shm: context.shm, width: 200, height: 200, format: .xrgb8888, count: 1)
                set.buffers[0].pixels.update(repeating: Self.colour(i).littleEndian, count: 200 * 200)
                let done = toplevel.present(set.buffers[0])!
                set.buffers[0].destroy()
                if i % 2 == 0 { set.pool.destroyProxy() }
                try connection.flush()
                // Two of three commits do not wait for their frame: more than one per composite.
                if i % 3 == 2 { try connection.wait(timeout: Self.wait) { done.isDone }.orThrow(waitingFor: "frame \(i)") }
            }
            try connection.roundtrip(timeout: Self.wait).orThrow(waitingFor: "the last roundtrip")
            try Self.expectOnScreen(c, frame: 239)
        }
    }

    /// The pool grows (file first, then wl_shm_pool.resize) right after every commit, in the same
    /// flush, so compositord remaps the pool (mremap, which may move it) before it composites
    /// the buffer just committed from it; every tenth growth is 4 MiB, too big to extend in place.
    @Test func poolGrownWhileItsBufferWaitsToBeRead() throws {
        try Self.race("pool grown after each commit x180") { c in
            let (connection, context, toplevel) = try Self.window(c)
            let set = try BufferSet(shm: context.shm, width: 200, height: 200, format: .xrgb8888, count: 2)
            for i in 0..<180 {
                let buffer = try #require(try set.waitForFreeBuffer(timeout: Self.wait), "no buffer released by frame \(i)")
                buffer.pixels.update(repeating: Self.colour(i).littleEndian, count: 200 * 200)
                let done = toplevel.present(buffer)!
                try set.pool.grow(to: set.pool.size + (i % 10 == 9 ? 4 << 20 : 64 << 10))
                try connection.wait(timeout: Self.wait) { done.isDone }.orThrow(waitingFor: "frame \(i)")
            }
            try connection.roundtrip(timeout: Self.wait).orThrow(waitingFor: "the last roundtrip")
            try Self.expectOnScreen(c, frame: 179)
            #expect(set.pool.size > 70 << 20, "pool \(set.pool.size) bytes")
        }
    }

    /// SIGTERM while a screencopy `copy_with_damage` waits for damage that never comes (after
    /// windows rendered): the capture gets `failed`, compositord exits 0 and removes its socket
    /// and lock. export-dmabuf on this host's memfd output is cancelled at once; a held exported
    /// dma-buf at shutdown is ShutdownInVMTests' part.
    @Test func captureInFlightAtShutdown() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let windows = try StressClientRun.ready(c, ["--renderers", "4"], tag: "windows")
        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let capturer = try OutputCapture(connection: connection, timeout: Self.wait)
        #expect(throws: CaptureError.cancelled(.permanent)) { try capturer.capture(.exportDmabuf, timeout: Self.wait) }
        // The windows stop; once their damage is taken, a copy with damage waits for damage that
        // never comes.
        let w = windows.stop()
        #expect(w.status == 0, "windows: \(w.stderr)")
        capturer.takeDamageUntilQuiet(.seconds(1))
        c.expectShutdownFailsCapture(after: 1.5) { _ = try capturer.capture(.screencopy, withDamage: true, timeout: Self.wait) }
    }
}
