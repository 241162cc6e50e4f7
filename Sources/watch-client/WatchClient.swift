import ArgumentParser
import ClientKit
import Glibc

/// A screen consumer for scripts/bench's watched mode: captures the first output frame after
/// frame with wlr-screencopy `copy_with_damage` into one `wl_shm` buffer, as wayvnc does, and
/// records when each frame became ready.
@main
struct WatchClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch-client",
        abstract: "A Wayland screencopy consumer: captures every frame of an output into one wl_shm buffer.",
        discussion: """
            Binds zwlr_screencopy_manager_v1 (version 2 or 3) and loops: capture_output \
            (overlay_cursor 0), copy_with_damage into one wl_shm buffer of the advertised layout \
            (made at the first frame, made again only if the layout changes), wait for ready or \
            failed, next. The compositor holds 'ready' until the output changed, so the loop runs \
            at the rate the screen changes.

            At exit (after --duration seconds, or SIGINT/SIGTERM) it prints one line: \
            'frames=N failures=F elapsed=S fps=F p50_ms=X p99_ms=Y size=WxH buffers=B damage_px=D', \
            where frames counts 'ready' events, elapsed runs from the first capture request to the \
            last ready, the percentiles are of the intervals between consecutive readies, and \
            damage_px is the mean damaged area per frame in pixels.

            Exit status: 0 success, 1 connection or system failure (also: no screencopy), \
            3 protocol error.
            """
    )

    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).")
    var duration: Double?

    @Option(help: ArgumentHelp("Write each ready's CLOCK_MONOTONIC time (seconds, one per line) to this file at exit.", valueName: "file"))
    var timestamps: String?

    @Option(help: "Which wl_output to capture, by advertisement order.")
    var output = 0

    @Option(help: "Wayland display name (default: $WAYLAND_DISPLAY).")
    var socket: String?

    func validate() throws {
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        guard output >= 0 else { throw ValidationError("--output must not be negative") }
    }

    func run() throws {
        do {
            try runClient()
        } catch let error as ProtocolError {
            printError("protocol error: \(error)")
            throw ExitCode(3)
        } catch {
            printError("watch-client: \(error)")
            throw ExitCode(1)
        }
    }

    private func runClient() throws {
        let interrupt = try SignalInterrupt()
        let connection = try Connection(displayName: socket)
        connection.interrupt = interrupt
        var summary = Summary()
        let stream: ScreencopyStream
        do {
            stream = try ScreencopyStream(connection: connection, outputIndex: output, timeout: .seconds(10))
        } catch ClientError.interrupted {
            return summary.print()
        }
        let deadline = duration.map { Summary.now() + $0 }
        func remaining() -> Duration? {
            deadline.map { .microseconds(Int64(max($0 - Summary.now(), 0) * 1e6)) }
        }

        summary.start = Summary.now()
        loop: while true {
            if let deadline, Summary.now() >= deadline { break }
            do {
                switch try stream.next(overlayCursor: false, timeout: remaining()) {
                case let .ready(_, damage, _):
                    summary.times.append(Summary.now())
                    summary.damagedPixels += damage.reduce(0) { $0 + $1.width * $1.height }
                case .failed:
                    summary.failures += 1
                    // A compositor that fails every frame (e.g. no output content yet) must not spin.
                    if summary.failures % 10 == 0 { usleep(10_000) }
                }
            } catch ClientError.interrupted {
                break loop
            } catch ClientError.timedOut {
                break loop // --duration ran out while waiting
            }
        }
        try connection.flush()
        if let layout = stream.layout { summary.size = "\(layout.width)x\(layout.height)" }
        summary.buffers = stream.buffersMade
        if let timestamps { try summary.write(to: timestamps) }
        summary.print()
    }

    private func printError(_ line: String) {
        let text = line + "\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }
}

/// The readies' CLOCK_MONOTONIC times (as load-client records frame callbacks, so scripts/bench
/// counts both the same way) and the summary line.
struct Summary {
    var times: [Double] = []
    var failures = 0
    var start: Double?
    var size = "0x0"
    var buffers = 0
    var damagedPixels = 0

    init() { times.reserveCapacity(64 * 1024) }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// One line per ready, seconds with 6 decimals (load-client's format).
    func write(to path: String) throws {
        var text = ""
        text.reserveCapacity(times.count * 18)
        for t in times { text += fixed(t, digits: 6) + "\n" }
        guard let file = fopen(path, "w") else { throw WriteError(path: path, errno: errno) }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw WriteError(path: path, errno: errno) }
    }

    func print() {
        let elapsed = start.map { (times.last ?? Summary.now()) - $0 } ?? 0
        let intervals = times.count > 1 ? (1..<times.count).map { (times[$0] - times[$0 - 1]) * 1000 } : []
        let fps = elapsed > 0 ? Double(times.count) / elapsed : 0
        Swift.print(
            "frames=\(times.count) failures=\(failures) elapsed=\(fixed(elapsed, digits: 3)) fps=\(fixed(fps, digits: 2))"
                + " p50_ms=\(fixed(Self.percentile(50, of: intervals), digits: 3))"
                + " p99_ms=\(fixed(Self.percentile(99, of: intervals), digits: 3))"
                + " size=\(size) buffers=\(buffers) damage_px=\(times.isEmpty ? 0 : damagedPixels / times.count)")
    }

    /// The `p`-th percentile (nearest rank) of `values`; 0 when empty.
    static func percentile(_ p: Double, of values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    struct WriteError: Error, CustomStringConvertible {
        let path: String
        let errno: Int32
        var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
    }
}

/// `value` with exactly `digits` decimals (Foundation-free, as load-client's).
func fixed(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale), fraction = scaled % Int64(scale)
    var fractionText = String(fraction)
    while fractionText.count < digits { fractionText = "0" + fractionText }
    return (value < 0 && scaled != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fractionText : "")
}
