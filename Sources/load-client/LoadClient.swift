import ArgumentParser
import ClientKit
import Glibc

/// A benchmark load like weston-simple-shm: one window redrawing and damaging its inner area on
/// every frame callback, with a machine-readable summary at exit (scripts/bench reads it).
@main
struct LoadClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-client",
        abstract: "A Wayland load client: one xdg_toplevel of wl_shm XRGB8888 buffers redrawn on every frame callback.",
        discussion: """
            Each frame repaints and damages (wl_surface.damage_buffer) the window's inner area, \
            inset by --inset pixels (250x250 with inset 20: the inner 210x210, as weston-simple-shm \
            does), then commits with a frame request; the next frame starts when that callback's \
            'done' arrives. Pool files are sealed memfds (ClientKit's AnonymousFile).

            At exit (after --duration seconds, SIGINT/SIGTERM, or xdg_toplevel.close) it prints one line:
            'frames=N elapsed=S fps=F p50_ms=X p99_ms=Y size=WxH', where frames counts frame \
            callbacks received, elapsed runs from the first commit to the last callback, and the \
            percentiles are of the intervals between consecutive callbacks.

            Exit status: 0 success, 1 connection or system failure, 3 protocol error \
            ('protocol error: <interface>@<id> code <n>: <message>' on stderr).
            """
    )

    @Option(help: "Window width in pixels (ignored with --fullscreen when the compositor suggests a size).")
    var width = 250

    @Option(help: "Window height in pixels (ignored with --fullscreen when the compositor suggests a size).")
    var height = 250

    @Option(help: "Buffers in the pool, drawn into whichever the compositor has released.")
    var buffers = 3

    @Option(help: "Border left undamaged on every side (default 20; 0 with --fullscreen).")
    var inset: Int?

    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).")
    var duration: Double?

    @Flag(help: "Ask for a full-screen window (its size is the compositor's configure) and damage all of it.")
    var fullscreen = false

    @Option(help: "full: repaint the whole damaged area every frame; bar: repaint only a moving 16-pixel bar (damage is the same).")
    var redraw = Redraw.full

    @Option(help: ArgumentHelp("Write each frame callback's CLOCK_MONOTONIC time (seconds, one per line) to this file at exit.", valueName: "file"))
    var timestamps: String?

    @Option(help: "Wayland display name (default: $WAYLAND_DISPLAY).")
    var socket: String?

    enum Redraw: String, ExpressibleByArgument, CaseIterable {
        case full, bar
    }

    func validate() throws {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw ValidationError("--width and --height must be between 1 and 16384")
        }
        guard (1...16).contains(buffers) else { throw ValidationError("--buffers must be between 1 and 16") }
        if let inset, inset < 0 { throw ValidationError("--inset must not be negative") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        do {
            try runClient()
        } catch let error as ProtocolError {
            printError("protocol error: \(error)")
            throw ExitCode(3)
        } catch {
            printError("load-client: \(error)")
            throw ExitCode(1)
        }
    }

    private func runClient() throws {
        let interrupt = try SignalInterrupt()
        let connection = try Connection(displayName: socket)
        connection.interrupt = interrupt
        let setupTimeout = Duration.seconds(10)

        let context: ClientContext
        do {
            context = try ClientContext(connection: connection, timeout: setupTimeout)
        } catch ClientError.interrupted {
            return printSummary(FrameRecorder(expectedFrames: 0), firstCommit: nil, size: Size(width: width, height: height))
        }
        let toplevel = Toplevel(context: context, title: "load-client", appID: "load-client", fullscreen: fullscreen)
        switch try toplevel.waitForConfigure(timeout: setupTimeout) {
        case .satisfied: break
        case .interrupted: return printSummary(FrameRecorder(expectedFrames: 0), firstCommit: nil, size: Size(width: width, height: height))
        case .timedOut: throw ClientError.timedOut(waitingFor: "the first configure")
        }

        var canvas = try makeCanvas(size: currentSize(toplevel), context: context)
        var recorder = FrameRecorder(expectedFrames: Int((duration ?? 60) * 250) + 16)
        let deadline = duration.map { FrameRecorder.now() + $0 }
        func remaining() -> Duration? {
            deadline.map { .microseconds(Int64(max($0 - FrameRecorder.now(), 0) * 1e6)) }
        }

        var firstCommit: Double?
        var frame = 0
        while !toplevel.closeRequested {
            // Some compositors (sway) configure a full-screen window's size only after it maps.
            let size = currentSize(toplevel)
            if size != canvas.size { canvas = try makeCanvas(size: size, context: context) }
            // Never draw into a buffer the compositor may still be reading.
            guard let buffer = try canvas.buffers.waitForFreeBuffer(timeout: remaining(), stop: { toplevel.closeRequested }) else { break }
            canvas.draw(frame, into: buffer, full: redraw == .full)
            let damage = canvas.pattern.damage
            let surface = toplevel.surface
            surface.attach(buffer)
            surface.damageBuffer(x: damage.x, y: damage.y, width: damage.width, height: damage.height)
            let callback = surface.requestFrame()
            surface.commit()
            if firstCommit == nil { firstCommit = FrameRecorder.now() }
            frame += 1

            let result = try connection.wait(timeout: remaining()) { callback.isDone || toplevel.closeRequested }
            if callback.isDone { recorder.record() }
            if result != .satisfied { break }
        }
        try connection.flush()
        if let timestamps { try recorder.write(to: timestamps) }
        printSummary(recorder, firstCommit: firstCommit, size: canvas.size)
    }

    /// The window size: the options', or with --fullscreen the compositor's suggestion once it made one.
    private func currentSize(_ toplevel: Toplevel) -> Size {
        let suggested = toplevel.suggestedSize
        if fullscreen && suggested.width > 0 && suggested.height > 0 {
            return Size(width: suggested.width, height: suggested.height)
        }
        return Size(width: width, height: height)
    }

    private func makeCanvas(size: Size, context: ClientContext) throws -> Canvas {
        try Canvas(size: size, inset: inset ?? (fullscreen ? 0 : 20), bufferCount: buffers, shm: context.shm)
    }

    private func printSummary(_ recorder: FrameRecorder, firstCommit: Double?, size: Size) {
        let elapsed = firstCommit.map { (recorder.times.last ?? FrameRecorder.now()) - $0 } ?? 0
        let intervals = recorder.intervals
        let fps = elapsed > 0 ? Double(recorder.count) / elapsed : 0
        print(
            "frames=\(recorder.count) elapsed=\(fixed(elapsed, digits: 3)) fps=\(fixed(fps, digits: 2))"
                + " p50_ms=\(fixed(FrameRecorder.percentile(50, of: intervals), digits: 3))"
                + " p99_ms=\(fixed(FrameRecorder.percentile(99, of: intervals), digits: 3))"
                + " size=\(size.width)x\(size.height)")
    }

    private func printError(_ line: String) {
        let text = line + "\n"
        _ = text.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }
}
