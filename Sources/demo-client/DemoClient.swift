import ArgumentParser
import ClientKit
import Glibc

@main
struct DemoClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-client",
        abstract: "A Wayland client that draws a test pattern into shared-memory buffers.",
        discussion: """
            Prints 'anon-file: memfd|shm-open|runtime-dir' (how its pool file was made) and, at the \
            end, 'frames: N fps: F'. With --misbehave MODE it first prints \
            'misbehave MODE: <what it did>'; if the compositor lets it pass, it renders --frames \
            frames (default 30) and prints 'misbehave MODE: tolerated'.

            Exit status: 0 success (also after SIGINT/SIGTERM or a close request, and after a \
            tolerated misbehaviour that some seal policy allows), 1 connection or system failure, \
            2 a misbehaviour that every policy forbids got no error, 3 protocol error (printed to \
            stderr as 'protocol error: <interface>@<id> code <n>: <message>').
            """
    )

    @Option(help: "Stop after this many frames (default: run until interrupted; 30 with --misbehave).")
    var frames: Int?

    @Option(help: "Buffer width in pixels.")
    var width = 256

    @Option(help: "Buffer height in pixels.")
    var height = 256

    @Option(help: "Wayland display name (default: $WAYLAND_DISPLAY).")
    var socket: String?

    @Option(help: "How to make the pool's file: auto (memfd, then shm-open, then runtime-dir), memfd, shm-open or runtime-dir.")
    var anonFile = "auto"

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
        if AnonymousFile.Strategy(rawValue: anonFile) == nil {
            throw ValidationError("--anon-file must be one of: \(AnonymousFile.Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
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
        } catch let error as AnonymousFileError {
            printError("demo-client: \(error)")
            throw ExitCode(1)
        }
    }

    private func runClient() throws {
        let strategy = AnonymousFile.Strategy(rawValue: anonFile)!
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

        if let name = misbehave, let mode = Misbehavior(rawValue: name) {
            let summary: FrameLoop.Summary?
            do {
                summary = try mode.run(
                    context: context, frames: frames ?? 30, width: width, height: height,
                    anonymousFile: strategy, report: { print($0) })
            } catch ClientError.interrupted {
                return
            }
            if let summary { printSummary(frames: summary.frames, fps: summary.framesPerSecond) }
            print("misbehave \(mode.rawValue): tolerated\(mode.isLegal ? ", as the protocol requires" : "")")
            if mode.isForbiddenUnderEveryPolicy {
                printError("demo-client: the compositor tolerated misbehaviour '\(mode.rawValue)' (expected: \(mode.expectedReaction))")
                throw ExitCode(2)
            }
            return
        }

        let buffers = try BufferSet(shm: context.shm, width: width, height: height, format: .xrgb8888, count: 2, strategy: strategy)
        print("anon-file: \(buffers.anonymousFileStrategy)")

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
