import ArgumentParser
import ClientKit
import Misbehave
import Glibc

@main
struct DemoClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-client",
        abstract: "A Wayland client that draws a test pattern into shared-memory or dma-buf buffers, or captures an output.",
        discussion: """
            Prints 'anon-file: memfd|shm-open|runtime-dir' (how its pool file was made) or, with \
            --buffer dmabuf, 'dmabuf-source: udmabuf|dumb|heap' (how its dma-bufs were made) and, at the \
            end, 'frames: N fps: F'. With --misbehave MODE it first prints \
            'misbehave MODE: <what it did>'; if the compositor lets it pass, it renders --frames \
            frames (default 30) and prints 'misbehave MODE: tolerated'.

            With --capture FILE.png it makes no window: it captures one frame of the first output \
            (--capture-method export-dmabuf, the default; screencopy, copying into a wl_shm buffer \
            or, with --capture-buffer dmabuf, a dma-buf; or ext-image-copy-capture, copying into a \
            wl_shm buffer), writes it as a PNG and prints \
            'capture: <method> <W>x<H> <FOURCC> modifier=0x<hex> dmabuf=<yes|no> -> FILE.png'; with \
            --with-damage (screencopy only) it uses copy_with_damage and first prints one \
            'damage: <x>,<y> <W>x<H>' line per damage rectangle (or 'damage: none').

            Exit status: 0 success (also after SIGINT/SIGTERM or a close request, and after a \
            tolerated misbehaviour that some seal policy allows), 1 connection or system failure \
            (including no dma-buf device, or a compositor without zwp_linux_dmabuf_v1 or XR24/LINEAR; \
            for --capture also a missing capture protocol, an unreadable frame, a timeout or a signal), \
            2 a misbehaviour that every policy forbids got no error, 3 protocol error (printed to \
            stderr as 'protocol error: <interface>@<id> code <n>: <message>'), 4 the capture was \
            cancelled ('capture cancelled: temporary|permanent|resizing' on stderr) or failed \
            ('capture failed'), 5 the compositor closed the connection without an error event, the \
            expected reaction to --misbehave never-read ('misbehave never-read: disconnected: ...').
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

    @Option(help: "What the frames are drawn into: shm (a wl_shm pool) or dmabuf (zwp_linux_dmabuf_v1).")
    var buffer = "shm"

    @Option(help: "How to allocate dma-bufs: auto (udmabuf, then dumb, then heap), udmabuf, dumb or heap.")
    var dmabufSource = "auto"

    @Option(help: "Break the protocol on purpose; 'list' shows the modes.")
    var misbehave: String?

    @Option(help: ArgumentHelp("Capture one frame of the first output into this PNG file (no window).", valueName: "file.png"))
    var capture: String?

    @Option(help: "How to capture: export-dmabuf (zwlr_export_dmabuf_manager_v1), screencopy (zwlr_screencopy_manager_v1) or ext-image-copy-capture (ext_image_copy_capture_manager_v1 with an output source).")
    var captureMethod: String?

    @Option(help: "With --capture-method screencopy: copy into shm (a wl_shm buffer) or dmabuf (a linear XR24 dma-buf from --dmabuf-source, imported through zwp_linux_dmabuf_v1; needs the compositor's linux_dmabuf offer).")
    var captureBuffer: String?

    @Flag(help: "With --capture-method screencopy: use copy_with_damage and print the damage rectangles.")
    var withDamage = false

    @Option(help: "With --capture: give up after this many seconds.")
    var captureTimeout: Double = 10

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
        if BufferKind(rawValue: buffer) == nil {
            throw ValidationError("--buffer must be one of: \(BufferKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let captureMethod, CaptureMethod(rawValue: captureMethod) == nil {
            throw ValidationError("--capture-method must be one of: \(CaptureMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let captureBuffer, CaptureBufferKind(rawValue: captureBuffer) == nil {
            throw ValidationError("--capture-buffer must be one of: \(CaptureBufferKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if capture == nil && (captureMethod != nil || withDamage || captureBuffer != nil) {
            throw ValidationError("--capture-method, --capture-buffer and --with-damage need --capture FILE.png")
        }
        if captureBuffer != nil && captureMethod != CaptureMethod.screencopy.rawValue {
            throw ValidationError("--capture-buffer needs --capture-method screencopy")
        }
        if withDamage && captureMethod != CaptureMethod.screencopy.rawValue {
            throw ValidationError("--with-damage needs --capture-method screencopy")
        }
        if capture != nil && misbehave != nil {
            throw ValidationError("--capture and --misbehave do not go together")
        }
        if !(captureTimeout > 0) {
            throw ValidationError("--capture-timeout must be positive")
        }
        if DmaBuf.Strategy(rawValue: dmabufSource) == nil {
            throw ValidationError("--dmabuf-source must be one of: \(DmaBuf.Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
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
            if let capture {
                try runCapture(to: capture)
            } else {
                try runClient()
            }
        } catch let error as CaptureError {
            switch error {
            case .cancelled, .failed:
                printError("\(error)")
                throw ExitCode(4)
            default:
                printError("demo-client: \(error)")
                throw ExitCode(1)
            }
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
        } catch let error as DmaBufError {
            printError("demo-client: \(error)")
            throw ExitCode(1)
        } catch let error as DmaBufferError {
            printError("demo-client: \(error)")
            throw ExitCode(1)
        } catch let error as DmaBuf.Failure {
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
                    anonymousFile: strategy, dmabufSource: DmaBuf.Strategy(rawValue: dmabufSource)!, report: { print($0) })
            } catch ClientError.interrupted {
                return
            } catch let disconnected as MisbehaviorDisconnected {
                print("misbehave \(mode.rawValue): disconnected: \(disconnected)")
                throw ExitCode(5)
            }
            if let summary { printSummary(frames: summary.frames, fps: summary.framesPerSecond) }
            print("misbehave \(mode.rawValue): tolerated\(mode.isLegal ? ", as the protocol requires" : "")")
            if mode.isForbiddenUnderEveryPolicy {
                printError("demo-client: the compositor tolerated misbehaviour '\(mode.rawValue)' (expected: \(mode.expectedReaction))")
                throw ExitCode(2)
            }
            return
        }

        switch BufferKind(rawValue: buffer)! {
        case .shm:
            let buffers = try BufferSet(shm: context.shm, width: width, height: height, format: .xrgb8888, count: 2, strategy: strategy)
            print("anon-file: \(buffers.anonymousFileStrategy)")
            try render(context: context, buffers: buffers)
        case .dmabuf:
            let linuxDmabuf: LinuxDmabuf
            do {
                linuxDmabuf = try context.linuxDmabuf()
            } catch ClientError.interrupted {
                printSummary(frames: 0, fps: 0)
                return
            }
            let buffers = try BufferSet(
                linuxDmabuf: linuxDmabuf, width: width, height: height, count: 2,
                strategy: DmaBuf.Strategy(rawValue: dmabufSource)!)
            print("dmabuf-source: \(buffers.dmabufStrategy)")
            try render(context: context, buffers: buffers)
        }
    }

    /// `--capture FILE.png`: one frame of the first output, no window.
    private func runCapture(to path: String) throws {
        let method = captureMethod.flatMap(CaptureMethod.init(rawValue:)) ?? .exportDmabuf
        let interrupt = try SignalInterrupt()
        let connection = try Connection(displayName: socket)
        connection.interrupt = interrupt
        let timeout = Duration.milliseconds(Int64((min(captureTimeout, 1e9) * 1000).rounded(.up)))
        let capturer = try OutputCapture(connection: connection, timeout: timeout)
        let frame = try capturer.capture(
            method, withDamage: withDamage, bufferKind: captureBuffer.flatMap(CaptureBufferKind.init(rawValue:)) ?? .shm,
            dmabufStrategy: DmaBuf.Strategy(rawValue: dmabufSource)!, timeout: timeout)
        if withDamage {
            if frame.damage.isEmpty { print("damage: none") }
            for rect in frame.damage { print("damage: \(rect)") }
        }
        do {
            try frame.image.writePNG(to: path)
        } catch {
            printError("demo-client: cannot write \(path): \(error)")
            throw ExitCode(1)
        }
        print("capture: \(frame.summary) -> \(path)")
    }

    private func render<Buffer: WaylandBuffer>(context: ClientContext, buffers: BufferSet<Buffer>) throws {
        let toplevel = Toplevel(context: context, title: "demo-client", appID: "demo-client")
        let loop = FrameLoop(toplevel: toplevel, buffers: buffers) { buffer, frame in
            try DemoPattern.draw(into: buffer, frame: frame)
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

/// `--buffer`.
enum BufferKind: String, CaseIterable {
    case shm
    case dmabuf
}
