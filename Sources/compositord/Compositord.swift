import ArgumentParser
import CDeferredClose
import Compositor
import CWayland
import Glibc
import Logging

struct Compositord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compositord",
        abstract: "A headless Wayland compositor that enforces safe, zero-copy buffer sharing.",
        discussion: """
            Listens on a Wayland socket in $XDG_RUNTIME_DIR, composites wl_shm clients with pixman \
            into its output buffer, and prints WAYLAND_DISPLAY=<name> once ready. SIGINT and \
            SIGTERM exit 0 (removing the socket); SIGUSR1 writes a screenshot. \
            `compositord run [flags] -- COMMAND` runs COMMAND against a compositord of its own \
            (an xvfb-run for Wayland; `compositord run --help`).
            """,
        version: compositordVersion
    )

    @Flag(help: "Run without a display (the only backend there is; required).")
    var headless = false

    @Option(help: ArgumentHelp("Socket name in $XDG_RUNTIME_DIR (default: the first free wayland-N).", valueName: "name"))
    var socket: String?

    @Option(help: "Output width in pixels (default 1920; the one output when no --output is given).")
    var width: Int32?

    @Option(help: "Output height in pixels (default 1080).")
    var height: Int32?

    @Option(help: ArgumentHelp("Output refresh rate in Hz (default 60); 0 renders on every commit.", valueName: "hz"))
    var refresh: Double?

    @Option(help: ArgumentHelp(
        "An output, repeatable: outputs are HEADLESS-1, HEADLESS-2... in order. WxH is the mode in pixels, @HZ its refresh (default 60; 0 renders on every commit); position=XxY its top-left corner in the layout (default: right of the previous output, y 0), scale=1..4, transform=normal|90|180|270|flipped|flipped-90|flipped-180|flipped-270. Example: --output 1920x1080 --output 1280x720@30,position=1920x0,scale=2,transform=90. Replaces --width, --height and --refresh.",
        valueName: "WxH[@HZ][,position=XxY][,scale=N][,transform=T]"))
    var output: [String] = []

    @Option(help: ArgumentHelp(
        "Write the final frame as PNG to this path at exit; SIGUSR1 writes it at any time.",
        valueName: "file.png"))
    var screenshot: String?

    @Option(help: ArgumentHelp(
        "Which wl_shm pools are accepted. enforce: a memfd that allows sealing gets F_SEAL_SHRINK from compositord, other shared memory (shm_open, runtime-dir files, memfds that cannot be sealed) is read under a SIGBUS guard, files on a local disk are screencopy targets only (written off the main thread, never shown: wf-recorder's /tmp files), files on other file systems (FUSE, NFS) are refused. strict (a lint for client authors): every pool must arrive carrying F_SEAL_SHRINK. guard (libwayland-compatible): everything is accepted and nothing sealed, unsealed pools are read under the guard; a pool on a client's own FUSE file system can then stall compositord.",
        valueName: "enforce|strict|guard"))
    var sealPolicy: String = "enforce"

    @Option(help: ArgumentHelp(
        "Output memory: auto (DRM dumb buffers on the first usable /dev/dri/card*, else udmabuf, else the system dma-heap, else a sealed memfd), none (the memfd), or a device path (/dev/dri/cardN, /dev/udmabuf, /dev/dma_heap/NAME) that must work.",
        valueName: "auto|none|path"))
    var outputDevice: String = "auto"

    @Option(help: ArgumentHelp(
        "When the output is composited: on-demand (only when a consumer asks for a frame: screencopy, export-dmabuf, a screenshot; headless, nothing else sees it) or every-frame (at every vblank with damage, as a display would need).",
        valueName: "on-demand|every-frame"))
    var composite: String = Compositing.onDemand.rawValue

    @Option(help: ArgumentHelp(
        "Whether clients may capture the output (zwlr_export_dmabuf_manager_v1, zwlr_screencopy_manager_v1): allow, or deny (the globals are hidden from every client).",
        valueName: "allow|deny"))
    var capture: String = "allow"

    @Option(help: ArgumentHelp(
        "Whether clients may inject input (zwp_virtual_keyboard_manager_v1: wtype): allow, or deny (the globals are hidden from every client).",
        valueName: "allow|deny"))
    var virtualInput: String = "allow"

    @Option(help: ArgumentHelp(
        "The seat keyboard's XKB layout, e.g. us, de, fr or \"us,ru\" (default: $XKB_DEFAULT_LAYOUT, else us). $XKB_DEFAULT_RULES, _MODEL, _VARIANT and _OPTIONS set the rest.",
        valueName: "layout"))
    var keyboardLayout: String?

    @Option(help: ArgumentHelp(
        "The most bytes one client may make compositord map: the sizes of its live wl_shm pools plus its live dma-buf buffers. A pool, resize or import past it is refused (wl_display no_memory, or the dma-buf import fails) and counted in --stats. Suffixes K, M, G, T (binary). Default 64G: 64 times the most a measured application maps per window (foot, two 512 MiB pools; a foot server has every window on one connection).",
        valueName: "bytes"))
    var maxClientMemory: String = "64G"

    @Option(help: ArgumentHelp(
        "The most wl_shm pools plus wl_buffers (shm and dma-buf) one client may hold at once; past it the request is refused like --max-client-memory. Default 4096 (applications measured hold at most 20 per window).",
        valueName: "n"))
    var maxClientBuffers: Int = ClientLimits().objects

    @Option(help: ArgumentHelp(
        "How long a committed dma-buf (or a screencopy target) may wait for its fences, in milliseconds. Such a commit is held (the surface keeps showing what it showed) and never waited for on the main thread; past the deadline its client gets an error and is disconnected. Default 1000 (60 frames at 60 Hz).",
        valueName: "ms"))
    var fenceDeadline: Int = 1000

    @Option(help: ArgumentHelp(
        "How fences are waited for: auto (snapshot them with DMA_BUF_IOCTL_EXPORT_SYNC_FILE where the kernel has it, 6.0+; else poll the dma-buf) or poll-dmabuf (always poll the dma-buf, as on older kernels). Default auto.",
        valueName: "auto|poll-dmabuf"))
    var fenceWait: String = FenceWait.auto.rawValue

    @Option(help: ArgumentHelp("Write per-client seal-policy statistics as JSON to this path at exit.", valueName: "file.json"))
    var stats: String?

    @Flag(help: "Log debug details.")
    var verbose = false

    func validate() throws {
        guard (1...16384).contains(width ?? 1920), (1...16384).contains(height ?? 1080) else {
            throw ValidationError("--width and --height must be between 1 and 16384")
        }
        guard (0...1000).contains(refresh ?? 60) else { throw ValidationError("--refresh must be between 0 and 1000 Hz") }
        if !output.isEmpty, width != nil || height != nil || refresh != nil {
            throw ValidationError("--output gives each output's size and refresh: use it instead of --width, --height and --refresh")
        }
        guard output.count <= 64 else { throw ValidationError("at most 64 outputs") }
        for o in output {
            do { _ = try OutputConfiguration(parsing: o) } catch { throw ValidationError("--output \(error)") }
        }
        guard Compositing(rawValue: composite) != nil else {
            throw ValidationError("--composite must be on-demand or every-frame")
        }
        guard SealPolicy(rawValue: sealPolicy) != nil else {
            throw ValidationError("--seal-policy must be enforce, strict or guard")
        }
        guard CapturePolicy(rawValue: capture) != nil else { throw ValidationError("--capture must be allow or deny") }
        guard VirtualInputPolicy(rawValue: virtualInput) != nil else { throw ValidationError("--virtual-input must be allow or deny") }
        guard let bytes = ClientLimits.parseBytes(maxClientMemory), bytes > 0 else {
            throw ValidationError("--max-client-memory must be a positive number of bytes, with an optional K, M, G or T suffix (e.g. 64G)")
        }
        guard maxClientBuffers > 0 else { throw ValidationError("--max-client-buffers must be at least 1") }
        guard (1...3_600_000).contains(fenceDeadline) else { throw ValidationError("--fence-deadline must be 1 to 3600000 milliseconds") }
        guard FenceWait(rawValue: fenceWait) != nil else { throw ValidationError("--fence-wait must be auto or poll-dmabuf") }
    }

    func run() throws {
        // signalfd (wl_event_loop_add_signal) only sees signals blocked in every thread.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A client that vanishes mid-write must not kill us.
        signal(SIGPIPE, SIG_IGN)
        // libwayland's own closes of client fds (one attached to a request that takes none, the
        // unread ones at disconnect) must not wait on a client's FUSE daemon (CDeferredClose.h).
        // Enabled after the mask: the closer thread it starts keeps the signals blocked.
        cw_deferred_close_enable()

        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "compositord")
        ServerLog.install(logger)

        guard headless else {
            FileHandleStderr.write("compositord: only the headless backend exists: run `compositord --headless`\n")
            throw ExitCode(2)
        }

        var config = ServerConfiguration()
        config.socketName = socket
        config.width = width ?? config.width
        config.height = height ?? config.height
        config.refreshHz = refresh ?? config.refreshHz
        config.outputs = output.map { try! OutputConfiguration(parsing: $0) }  // checked by validate()
        config.sealPolicy = SealPolicy(rawValue: sealPolicy)!
        config.compositing = Compositing(rawValue: composite)!
        config.keepClientStatistics = stats != nil
        config.outputDevice = OutputDeviceChoice(outputDevice)
        config.capture = CapturePolicy(rawValue: capture)!
        config.virtualInput = VirtualInputPolicy(rawValue: virtualInput)!
        config.keymap.layout = keyboardLayout
        config.clientLimits.memoryBytes = ClientLimits.parseBytes(maxClientMemory)!
        config.clientLimits.objects = maxClientBuffers
        config.fenceDeadlineMs = Int32(fenceDeadline)
        config.fenceWait = FenceWait(rawValue: fenceWait)!
        logger.info("per-client limits", metadata: [
            "max-client-memory": "\(config.clientLimits.memoryBytes) (\(ClientLimits.describe(bytes: config.clientLimits.memoryBytes)))",
            "max-client-buffers": "\(config.clientLimits.objects)",
        ])
        // Clients cost fds (a socket, pools): take all the kernel allows this process, and leave
        // FdBudget to refuse clients before the compositor runs short itself.
        let fds = FdBudget.raiseSoftLimit()
        logger.info("fd limit (RLIMIT_NOFILE)", metadata: [
            "soft-before": "\(fds.before)", "soft": "\(fds.after)", "hard": "\(fds.hard)", "reserve": "\(FdBudget.reserve)",
        ])
        let server: Server
        do {
            server = try Server(configuration: config, logger: logger)
        } catch {
            FileHandleStderr.write("compositord: \(error)\n")
            throw ExitCode(1)
        }

        var shots = 0
        let screenshotPath = screenshot
        server.handleSignals {
            shots += 1
            let path = screenshotPath ?? "compositord-screenshot-\(getpid())-\(shots).png"
            do { try server.writeScreenshot(to: path) } catch { logger.error("screenshot failed: \(error)") }
        }

        print(server.outputSummary)
        print("WAYLAND_DISPLAY=\(server.socketName)")
        fflush(nil)  // stdout may be a pipe: the line must leave now
        server.run()

        if let screenshotPath {
            do { try server.writeScreenshot(to: screenshotPath) } catch {
                logger.error("screenshot failed: \(error)")
            }
        }
        server.shutdown()
        if cw_deferred_close_count() > 0 {
            logger.notice("closes deferred to the background (files on FUSE or network file systems): \(cw_deferred_close_count())")
        }
        let statistics = server.statistics
        logger.info("seal policy \(statistics.sealPolicy): \(statistics.summary)")
        if let stats {
            do { try writeFile(stats, statistics.json()) } catch { logger.error("cannot write --stats: \(error)") }
        }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// libwayland's own messages (e.g. "error in client communication") go to the same log.
enum ServerLog {
    nonisolated(unsafe) static var logger: Logger?

    static func install(_ logger: Logger) {
        self.logger = logger
        cw_server_set_log_handler { line in
            guard let line else { return }
            var text = String(cString: line)
            while text.hasSuffix("\n") { text.removeLast() }
            ServerLog.logger?.notice("libwayland: \(text)")
        }
    }
}
