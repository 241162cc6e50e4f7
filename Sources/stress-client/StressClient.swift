import ArgumentParser
import ClientKit
import Glibc
import Synchronization
import WaylandTestSupport

/// A load generator for compositord's robustness tests (docs/robustness/load.md): in one process,
/// N rendering clients, M idle connections, K connect/disconnect cycles and an observer that
/// measures its own frame rate, each on its own `wl_display` connection.
@main
struct StressClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress-client",
        abstract: "Load for a Wayland compositor: many rendering, idle and short-lived connections, and a frame-rate observer.",
        discussion: """
            Order: the observer's window (with --observer), the idle connections (connect, one \
            roundtrip, then nothing), the rendering clients (a 250x250 XRGB8888 toplevel each, \
            redrawn and fully damaged on every frame callback). Once every window is configured it \
            prints 'ready: renderers=N idle=M'. Then, while the windows render, a second thread runs \
            the --cycles (connect, bind wl_compositor, wl_shm, xdg_wm_base, wl_output and wl_seat, \
            half of them a pool and a buffer, some a mapped window with a committed frame; then \
            leave cleanly after a roundtrip, abruptly with requests in flight, or mid-message) and \
            --churn drops that many rendering clients abruptly, each after 1 to 8 frames and 0 to \
            20 ms into a frame with a commit in flight, replacing each with a new one. The load \
            stops when the cycles and the churn are done and --duration seconds have passed since \
            'ready' (without any of them: at SIGINT/SIGTERM). Every connection is then checked \
            (the idle ones with a roundtrip) and closed.

            At exit it prints key=value lines: 'renderers:', 'churn:', 'idle:', 'cycles:' and \
            'observer:' (frames per whole second since its first frame: min, median, and the list).

            Exit status: 0 when every connection behaved (no protocol error, no disconnect, no \
            timeout), 1 otherwise (the first failure is printed on stderr).
            """
    )

    @Option(help: "Wayland display name (default: $WAYLAND_DISPLAY).")
    var socket: String?

    @Option(help: "Rendering clients (250x250 windows redrawn every frame).")
    var renderers = 0

    @Option(help: "Idle connections: connect, roundtrip, then sit.")
    var idle = 0

    @Option(help: "Connect/disconnect cycles, run on their own thread while the windows render.")
    var cycles = 0

    @Option(help: "Rendering clients dropped abruptly at random points of their frames (each replaced).")
    var churn = 0

    @Flag(help: "Run the frame-rate observer window on its own thread.")
    var observer = false

    @Option(help: "Keep the load running at least this many seconds after 'ready'.")
    var duration: Double?

    @Option(help: "Seed for the random choices of --cycles and --churn.")
    var seed: UInt64 = 1

    @Option(help: "Niceness added to the load (every thread but the observer's), so that on a machine with fewer cores than busy processes the compositor and the observer are scheduled first: the observer then measures the compositor, not the CPU scheduler.")
    var nice: Int32 = 10

    @Option(help: "Seconds a single wait (a roundtrip, a configure, a frame of the observer) may take before it counts as a hang.")
    var timeout: Double = 60

    func validate() throws {
        guard renderers >= 0, idle >= 0, cycles >= 0, churn >= 0 else { throw ValidationError("counts must not be negative") }
        if let duration, !(duration >= 0) { throw ValidationError("--duration must not be negative") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let needed = renderers * 2 + idle + 64
        let limit = FileLimit.raiseSoftLimit()
        if limit < needed {
            printError("stress-client: RLIMIT_NOFILE is \(limit), below the \(needed) descriptors this load needs")
            throw ExitCode(1)
        }
        var load = Load(options: self)
        let ok = load.run()
        if !ok { throw ExitCode(1) }
    }
}

/// One run of the load, in the order the discussion above gives.
struct Load {
    let options: StressClient
    var wait: Duration { .milliseconds(Int64(options.timeout * 1000)) }
    var failures: [String] = []

    init(options: StressClient) { self.options = options }

    mutating func run() -> Bool {
        let interrupt: SignalInterrupt
        do { interrupt = try SignalInterrupt() } catch { return fail("signals: \(error)") }

        let observer = options.observer ? Observer(displayName: options.socket, timeout: wait) : nil
        let observerThread = observer.map { o in BackgroundThread { o.run() } }
        if let observer {
            let deadline = monotonicSeconds() + options.timeout
            while !observer.hasFirstFrame && observer.outcome.error == nil && monotonicSeconds() < deadline { usleep(5_000) }
            if !observer.hasFirstFrame { _ = fail("observer: no first frame: \(observer.outcome.error ?? "timed out")") }
        }
        // Linux niceness is per thread: this one and the threads it starts from now on (the
        // cycles) yield to the observer's, which already runs.
        if options.nice != 0 {
            errno = 0
            let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            if errno == 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, current + options.nice) }
        }

        var idleConnections: [Registry] = []
        for _ in 0..<options.idle where !interrupt.isTriggered {
            do {
                let connection = try Connection(displayName: options.socket)
                let registry = Registry(connection: connection)
                try connection.roundtrip(timeout: wait).orThrow(waitingFor: "an idle connection's registry")
                idleConnections.append(registry)
            } catch {
                _ = fail("idle connection \(idleConnections.count): \(error)")
                break
            }
        }

        var rng = SplitMix(seed: options.seed &+ 0x5EED)
        var churnLeft = options.churn
        func newRenderer() throws -> Renderer {
            let renderer = try Renderer(displayName: options.socket, timeout: wait)
            if churnLeft > 0 { renderer.lifetimeFrames = Int.random(in: 1...8, using: &rng) }
            return renderer
        }
        var renderers: [Renderer] = []
        for _ in 0..<options.renderers where !interrupt.isTriggered {
            do { renderers.append(try newRenderer()) } catch { _ = fail("renderer \(renderers.count): \(error)"); break }
        }
        let configureDeadline = monotonicSeconds() + options.timeout
        while !renderers.allSatisfy(\.isConfigured) && monotonicSeconds() < configureDeadline && !interrupt.isTriggered {
            let broken = ConnectionPoll.dispatch(renderers.map(\.connection), timeout: .milliseconds(100))
            for failure in broken.reversed() {
                _ = fail("renderer before configure: \(failure.error)")
                renderers.remove(at: failure.index)
            }
        }
        if !renderers.allSatisfy(\.isConfigured) { _ = fail("renderers: not every window was configured") }
        print("ready: renderers=\(renderers.count) idle=\(idleConnections.count)")
        fflush(nil)

        // The cycles run beside the rendering, on their own thread and connections.
        let cycleResult = Mutex<Cycles.Counts?>(nil)
        let stopCycles = StopFlag()
        let cycleRunner = Cycles(displayName: options.socket, timeout: wait)
        let cycleCount = options.cycles, seed = options.seed
        let cycleThread = cycleCount > 0 ? BackgroundThread {
            let counts = cycleRunner.run(count: cycleCount, seed: seed) { stopCycles.isSet }
            cycleResult.withLock { $0 = counts }
        } : nil

        let readyAt = monotonicSeconds()
        var frames = 0, dropped = 0, replaced = 0
        var dropAt: [ObjectIdentifier: Double] = [:]
        var renderSeconds = 0.0
        while !interrupt.isTriggered {
            let now = monotonicSeconds()
            let cyclesDone = cycleThread == nil || cycleResult.withLock { $0 != nil }
            let timeUp = options.duration.map { now - readyAt >= $0 }
                ?? (options.cycles > 0 || options.churn > 0)
            if cyclesDone && churnLeft == 0 && dropAt.isEmpty && timeUp { break }

            // Sleep until the next event, or the next scheduled drop.
            let nextDrop = dropAt.values.min().map { max($0 - now, 0) } ?? 0.1
            let broken = ConnectionPoll.dispatch(renderers.map(\.connection), timeout: .microseconds(Int64(min(nextDrop, 0.1) * 1e6)),
                                                 extraDescriptor: nil)
            for failure in broken.reversed() {
                _ = fail("renderer: \(failure.error)")
                frames += renderers[failure.index].frames
                dropAt[ObjectIdentifier(renderers[failure.index])] = nil
                renderers.remove(at: failure.index)
            }
            let later = monotonicSeconds()
            var index = 0
            while index < renderers.count {
                let renderer = renderers[index]
                let id = ObjectIdentifier(renderer)
                if let at = dropAt[id], later >= at {
                    // Gone with a commit in flight, at a random point relative to the frame clock.
                    renderer.commitInFlight()
                    frames += renderer.frames
                    dropAt[id] = nil
                    renderers.remove(at: index)
                    dropped += 1
                    do { renderers.append(try newRenderer()); replaced += 1 } catch { _ = fail("replacement renderer: \(error)") }
                    continue
                }
                renderer.step()
                if renderer.lifetimeOver && dropAt[id] == nil && churnLeft > 0 {
                    churnLeft -= 1
                    dropAt[id] = later + Double.random(in: 0..<0.020, using: &rng)
                }
                index += 1
            }
            renderSeconds = later - readyAt
        }
        stopCycles.set()
        cycleThread?.join()

        // Every connection must still work: a roundtrip on each idle one.
        var alive = 0
        for registry in idleConnections {
            do {
                try registry.connection.roundtrip(timeout: wait).orThrow(waitingFor: "an idle connection's roundtrip")
                alive += 1
            } catch {
                _ = fail("idle connection: \(error)")
            }
        }
        for renderer in renderers where renderer.connection.error != nil {
            _ = fail("renderer: \(renderer.connection.error!)")
        }
        frames += renderers.reduce(0) { $0 + $1.frames }
        let windowCount = renderers.count
        renderers = []
        idleConnections = []

        observer?.stop()
        observerThread?.join()

        // Windows open at once stay at --renderers (churned ones are replaced).
        let perClient = options.renderers > 0 && renderSeconds > 0 ? Double(frames) / renderSeconds / Double(options.renderers) : 0
        print("renderers: count=\(options.renderers) open-at-end=\(windowCount) frames=\(frames) seconds=\(rounded(renderSeconds, digits: 2)) fps-per-client=\(rounded(perClient))")
        print("churn: dropped=\(dropped) replaced=\(replaced)")
        print("idle: opened=\(options.idle) alive=\(alive)")
        if let counts = cycleResult.withLock({ $0 }) {
            let rate = counts.seconds > 0 ? Double(counts.done) / counts.seconds : 0
            print("cycles: done=\(counts.done) seconds=\(rounded(counts.seconds, digits: 2)) per-second=\(rounded(rate)) clean=\(counts.clean) abrupt=\(counts.abrupt) partial=\(counts.partial) pools=\(counts.pools) windows=\(counts.windows) failures=\(counts.failures)")
            if let first = counts.firstFailure { _ = fail("cycle: \(first) (\(counts.failures) failed)") }
        } else {
            print("cycles: done=0")
        }
        if let observer {
            let outcome = observer.outcome
            let perSecond = outcome.perSecond
            let (low, median) = summary(perSecond)
            print("observer: frames=\(outcome.times.count) seconds=\(perSecond.count) min-fps=\(low) median-fps=\(median) per-second=\(perSecond.map(String.init).joined(separator: ","))")
            if let error = outcome.error { _ = fail("observer: \(error)") }
        }
        fflush(nil)
        return failures.isEmpty
    }

    /// Records a failure (the first few go to stderr); returns false for `return fail(...)`.
    mutating func fail(_ what: String) -> Bool {
        failures.append(what)
        if failures.count <= 5 { printError("stress-client: \(what)") }
        return false
    }
}

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
}
