import ArgumentParser
import ClientKit
import Glibc

@main
struct DemoClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-client",
        abstract: "A Wayland client that draws a test pattern into shared-memory buffers.",
        discussion: """
            Exit status: 0 success (also after SIGINT/SIGTERM or a close request), 1 connection \
            failure, 2 a forbidden misbehaviour the compositor tolerated, 3 protocol error.
            """
    )

    @Option(help: "Stop after this many frames (default: run until interrupted).")
    var frames: Int?

    @Option(help: "Buffer width in pixels.")
    var width = 256

    @Option(help: "Buffer height in pixels.")
    var height = 256

    @Option(help: "Wayland display name (default: $WAYLAND_DISPLAY).")
    var socket: String?

    @Option(help: "Break the protocol on purpose; 'list' shows the modes.")
    var misbehave: String?

    func validate() throws {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw ValidationError("--width and --height must be between 1 and 16384")
        }
        if let frames, frames < 0 { throw ValidationError("--frames must not be negative") }
        if let misbehave, misbehave != "list", Misbehavior(rawValue: misbehave) == nil {
            throw ValidationError("unknown --misbehave mode '\(misbehave)'; see --misbehave list")
        }
    }

    func run() throws {
        if misbehave == "list" {
            for mode in Misbehavior.allCases {
                print("\(mode.rawValue): \(mode.summary) Expected: \(mode.expectedReaction)")
            }
            return
        }
        do {
            try runClient()
        } catch let error as ProtocolError {
            printError("protocol error: \(error)")
            throw ExitCode(3)
        } catch let error as ConnectionError {
            printError("demo-client: \(error)")
            throw ExitCode(1)
        } catch let error as ClientError {
            printError("demo-client: \(error)")
            throw ExitCode(1)
        }
    }

    private func runClient() throws {
        let interrupt = try SignalInterrupt()
        let connection = try Connection(displayName: socket)
        connection.interrupt = interrupt

        let context: ClientContext
        do {
            context = try ClientContext(connection: connection)
        } catch ClientError.interrupted {
            printSummary(frames: 0, fps: 0)
            return
        }

        let buffers = try BufferSet(shm: context.shm, width: width, height: height, format: .xrgb8888, count: 2)
        print("anon-file: \(buffers.anonymousFileStrategy)")

        if let name = misbehave, let mode = Misbehavior(rawValue: name) {
            do {
                try mode.perform(context: context, buffers: buffers)
            } catch ClientError.interrupted {
                return
            }
            guard mode.expectedError != nil else {
                print("misbehave \(mode.rawValue): tolerated, as the protocol requires")
                return
            }
            printError("demo-client: the compositor tolerated misbehaviour '\(mode.rawValue)' (expected: \(mode.expectedReaction))")
            throw ExitCode(2)
        }

        let toplevel = Toplevel(context: context, title: "demo-client", appID: "demo-client")
        let loop = FrameLoop(toplevel: toplevel, buffers: buffers) { buffer, frame in
            DemoPattern.draw(into: buffer, frame: frame)
        }
        let summary = try loop.run(frames: frames)
        printSummary(frames: summary.frames, fps: summary.framesPerSecond)
    }

    private func printSummary(frames: Int, fps: Double) {
        let tenths = Int((fps * 10).rounded())
        print("frames: \(frames) fps: \(tenths / 10).\(tenths % 10)")
    }

    private func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}
