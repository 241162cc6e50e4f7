import Buffers
import SurfaceModel
import CWayland
import SystemPackage
import Glibc
import Logging
import PNG
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// The compositor: one wl_display with its globals, the scene, the output and the frame clock.
///
/// Everything runs on the thread that calls `run()`. There is no process-global state here, so
/// several servers can live in one process (the wlcs module and in-process tests rely on it).
public final class Server {
    public let logger: Logger
    public let configuration: ServerConfiguration
    /// The socket name clients use as WAYLAND_DISPLAY ("" when `configuration.listen` is off).
    public private(set) var socketName = ""

    package let display: OpaquePointer
    package let loop: OpaquePointer
    package let scene: Scene
    package let output: Output
    package let renderer: PixmanRenderer
    package let clients: Clients
    /// The seat: virtual input devices and focus (no capabilities unless an embedder adds devices).
    package let seat: Seat
    package let frameClock: FrameClock
    /// Window-management policy: placement, activation, focus, popup grabs, move and resize
    /// (Sources/WindowManagement).
    package let shell: Shell
    /// Protocol families' state, each with the server as its context and delegate.
    package private(set) lazy var shmState = ShmState(context: self, delegate: self)
    package private(set) lazy var compositorState = CompositorState(context: self, delegate: self, scene: scene)
    package private(set) lazy var seatState = SeatState(context: self, seat: seat)
    package private(set) lazy var virtualKeyboardState = VirtualKeyboardState(context: self, seat: seat)
    package private(set) lazy var virtualPointerState = VirtualPointerState(context: self, seat: seat)
    package private(set) lazy var xdgActivationState = XdgActivationState(context: self, seat: seat)
    package private(set) lazy var dataControlState = DataControlState(context: self, selection: selection, primary: primarySelection)
    package private(set) lazy var primarySelectionState = PrimarySelectionState(context: self, selection: primarySelection, seat: seat)
    package private(set) lazy var dataDeviceState = DataDeviceState(context: self, selection: selection, seat: seat)
    package private(set) lazy var outputState = OutputState(output: output, scene: scene)
    package private(set) lazy var captureState = CaptureState(context: self, frames: self, output: output, loop: loop,
                                                      fenceDeadlineMs: configuration.fenceDeadlineMs,
                                                      exportSyncFile: configuration.fenceWait == .auto)
    package private(set) lazy var linuxDmabufState = LinuxDmabufState(context: self, formats: dmabufFormats, mainDevice: dmabufMainDevice)
    package private(set) lazy var xdgShellState = XdgShellState(context: self, delegate: shell,
                                                        implicitFirstConfigureAck: configuration.implicitFirstConfigureAck)
    /// Work handed in from other threads (`perform`, Embedding.swift).
    package let crossThread: CrossThreadQueue
    package private(set) var globals: [Global] = []
    /// The v4 xdg_wm_base that quirky clients see instead of the v5 one (ClientQuirks).
    package private(set) var xdgWmBaseCompatibility: Global?
    /// The verified `$XDG_RUNTIME_DIR` and the socket in it (nil when not listening).
    private var runtimeDirectory: RuntimeDirectory?
    private var listeningSocket: ListeningSocket?
    private var signalSources: [OpaquePointer] = []
    /// Frame callbacks committed since the last frame: done after the next one is composited.
    private var pendingFrameCallbacks: [any FrameCallbackObject] = []
    /// Buffers replaced by commits since the last frame (Server.releaseAfterFrame).
    private var pendingReleases: [Buffer] = []
    /// The arrays a frame works through, swapped with the pending ones so that neither side
    /// allocates per frame (their capacity is kept).
    private var firingCallbacks: [any FrameCallbackObject] = []
    private var firingReleases: [Buffer] = []
    /// Buffers from pools that could shrink, committed since the last frame, with their
    /// surface: checked at the latch when the frame is not composited (Server.checkLatchedPools).
    private var latchChecks: [(surface: Surface, buffer: Buffer)] = []
    /// Surfaces with commits held for their dma-bufs' fences (HeldCommits.swift).
    package var holdingSurfaces: [Surface] = []
    /// wp_presentation: committed feedback waiting for the next presented frame.
    package let presentationFeedbacks = PresentationFeedbackQueue()
    /// The seat's selection (wl_data_device).
    package let selection = Selection()
    /// The seat's primary selection (zwp_primary_selection).
    package let primarySelection = Selection()
    /// Capture consumers waiting for frames (export-dmabuf, screencopy).
    private var frameObservers: [FrameObserver] = []
    /// Output damage composited since consumers were last given a frame. Every composite adds
    /// to it, whoever asked for it (a vblank, a consumer, a screenshot, SIGUSR1), so a frame
    /// composited outside a vblank still reaches consumers' damage (copy_with_damage).
    private var unobservedDamage = Region()
    /// The last `FrameInfo.sequence`.
    private var observedFrames: UInt64 = 0
    /// Frames run (vblanks with something to do); the output counts those it composited. A
    /// buffer made current while this had the same value as now was latched by no frame.
    package private(set) var framesRun: UInt64 = 0
    private var isShutDown = false
    /// linux-dmabuf: the formats we import (and their sealed table), and the device we name.
    package let dmabufFormats: DmabufFormatTable
    package let dmabufMainDevice: dev_t
    /// Explicit sync (linux-drm-syncobj-v1): the device its timelines are imported into, when
    /// the machine has one; without it the global is not advertised.
    package let syncobjDevice: SyncobjDevice?

    public init(configuration: ServerConfiguration, logger: Logger) throws(ServerError) {
        self.configuration = configuration
        self.logger = logger
        let keyboard = try Server.makeKeyboard(configuration)
        // Only the listening socket lives in XDG_RUNTIME_DIR: checked before anything is made.
        if configuration.listen { runtimeDirectory = try RuntimeDirectory() }
        guard let display = wl_display_create() else { throw .display }
        self.display = display
        loop = wl_display_get_event_loop(display)
        scene = Scene(width: configuration.width, height: configuration.height)
        renderer = PixmanRenderer(background: configuration.background)
        clients = Clients(display: display, logger: logger, keepDeparted: configuration.keepClientStatistics,
                          limits: configuration.clientLimits)
        dmabufMainDevice = DrmNodes.mainDevice()
        let (syncobj, syncobjSkipped) = SyncobjDevice.open()
        syncobjDevice = syncobj
        if let syncobj {
            logger.info("explicit sync (linux-drm-syncobj-v1) on \(syncobj.path) (\(syncobj.driver))")
        } else {
            let why = syncobjSkipped.isEmpty ? "no DRM device" : syncobjSkipped.joined(separator: "; ")
            logger.notice("explicit sync (linux-drm-syncobj-v1) not offered: \(why)")
        }
        do {
            dmabufFormats = try DmabufFormatTable()
            let (backend, skipped) = try OutputBackends.make(configuration.outputDevice, width: configuration.width, height: configuration.height)
            for reason in skipped { logger.notice("output backend skipped: \(reason)") }
            if !backend.isDmabuf {
                logger.warning("output is a sealed memfd, NOT a dma-buf: consumers cannot take frames by fd (export-dmabuf cancels)")
            }
            output = Output(backend: backend, refreshMilliHz: Int32((configuration.refreshHz * 1000).rounded()))
        } catch {
            wl_display_destroy(display)
            throw .output("\(error)")
        }
        crossThread = CrossThreadQueue(display: display)
        frameClock = FrameClock(loop: loop, refreshMilliHz: output.refreshMilliHz)
        seat = Seat(display: display, scene: scene, keyboard: keyboard)
        shell = Shell(scene: scene, seat: seat)
        frameClock.onFrame = { [unowned self] t in self.frame(presentedAt: t) }
        scene.onNeedsFrame = { [unowned frameClock] in frameClock.schedule() }
        scene.onMapChanged = { [unowned self] surface, mapped in self.outputState.membershipChanged(surface, entered: mapped) }
        selection.isInputSerial = { [unowned seat] serial, client in seat.isInputSerial(serial, of: client) }
        // The selection goes to the client that may paste: the keyboard focus's (Input/DataOffer.swift).
        primarySelection.isInputSerial = selection.isInputSerial
        seat.keyboard.onFocusClientChanged = { [unowned self] client in
            self.dataDeviceState.offerSelection(to: client)
            self.primarySelectionState.offerSelection(to: client)
        }
        primarySelection.onChange = { [unowned self] _ in
            self.primarySelectionState.offerSelection(to: self.primarySelectionState.focusedClient)
            self.dataControlState.primaryChanged()
        }
        selection.onChange = { [unowned self] _ in
            self.dataDeviceState.offerSelection(to: self.dataDeviceState.focusedClient)
            self.dataControlState.selectionChanged()
        }
        scene.onLayoutChanged = { [unowned seat] in seat.pointer.repickFocus() }

        // Embedded without listening: clients come through `connectClient(socket:)`.
        if let runtimeDirectory {
            do {
                let socket = try ListeningSocket(directory: runtimeDirectory, name: configuration.socketName, loop: loop, logger: logger) {
                    [unowned self] fd, tableFull in self.accepted(fd, tableFull: tableFull)
                }
                listeningSocket = socket
                socketName = socket.name
            } catch {
                crossThread.close()
                frameClock.shutdown()
                wl_display_destroy(display)
                throw error
            }
        }

        createGlobals()
        if configuration.capture == .deny {
            logger.notice("capture denied: \(CapturePolicy.interfaces.sorted().joined(separator: ", ")) are hidden from every client")
        }
        if configuration.virtualInput == .deny {
            logger.notice("virtual input denied: \(VirtualInputPolicy.interfaces.sorted().joined(separator: ", ")) are hidden from every client")
        }
        logger.info("output ready", metadata: [
            "backend": "\(output.backend.kind)", "device": "\(output.backend.device ?? "-")",
            "size": "\(output.width)x\(output.height)", "refresh-mHz": "\(output.refreshMilliHz)",
            "compositing": "\(configuration.compositing.rawValue)",
        ])
        // The first frame paints the background.
        scene.addDamage(scene.bounds)
    }

    /// The line compositord prints at start: `output: <backend> <device> <W>x<H> <format>`.
    public var outputSummary: String {
        "output: \(output.backend.kind) \(output.backend.device ?? "-") \(output.width)x\(output.height) XRGB8888"
    }

    /// The output backend's kind ("drm-dumb", "udmabuf", "dma-heap", "memfd").
    public var outputBackendKind: String { output.backend.kind }

    /// Creates the globals of `Server.globalDefinitions` this server offers, then the v4
    /// xdg_wm_base twin that the global filter shows quirky clients instead (ClientQuirks).
    private func createGlobals() {
        for definition in Server.globalDefinitions where definition.isOffered(self) {
            guard let g = Global(display: display, interface: definition.interface, version: definition.version,
                                 bind: { [unowned self] c, v, id in definition.bind(self, c, v, id) }) else {
                logger.error("cannot create global", metadata: ["interface": "\(definition.name)"])
                continue
            }
            globals.append(g)
        }
        if let g = Global(display: display, interface: cw_xdg_wm_base_interface(), version: XdgWmBase.compatibilityVersion,
                          bind: { [unowned self] c, v, id in XdgWmBase.bind(self.xdgShellState, c, v, id) }) {
            xdgWmBaseCompatibility = g
        }
        installGlobalFilter()
    }

    /// Runs until `terminate()` (or SIGINT/SIGTERM once `handleSignals` was called).
    public func run() {
        wl_display_run(display)
    }

    public func terminate() {
        wl_display_terminate(display)
    }

    /// SIGINT and SIGTERM stop the loop; SIGUSR1 calls `onScreenshotSignal`. The signals must be
    /// blocked in every thread before this (signalfd), which compositord's main does first thing.
    public func handleSignals(onScreenshotSignal: @escaping () -> Void) {
        final class Box { let f: () -> Void; init(_ f: @escaping () -> Void) { self.f = f } }
        let stop = Box { [unowned self] in self.logger.info("signal received, shutting down"); self.terminate() }
        let shot = Box(onScreenshotSignal)
        boxes = [stop, shot]
        let cb: wl_event_loop_signal_func_t = { _, data in
            Unmanaged<Box>.fromOpaque(data!).takeUnretainedValue().f()
            return 0
        }
        for (sig, box) in [(SIGINT, stop), (SIGTERM, stop), (SIGUSR1, shot)] {
            if let s = wl_event_loop_add_signal(loop, sig, cb, Unmanaged.passUnretained(box).toOpaque()) {
                signalSources.append(s)
            }
        }
    }
    private var boxes: [AnyObject] = []

    /// Disconnects every client and destroys the display (removing the socket and its lock file).
    /// Call once, before releasing the server.
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        // Embedders' calls from now on return false instead of waiting for a loop that is gone.
        crossThread.close()
        // No new clients; the socket and then its lock file are removed.
        listeningSocket?.close()
        listeningSocket = nil
        for s in signalSources { wl_event_source_remove(s) }
        signalSources = []
        // The handlers' closures may hold the server (compositord's screenshot handler does).
        boxes = []
        frameClock.shutdown()
        // The output goes away: captures in flight are cancelled before clients are dropped.
        for observer in frameObservers { observer.outputGone() }
        frameObservers = []
        wl_display_flush_clients(display)
        wl_display_destroy_clients(display)
        for g in globals { g.destroy() }
        globals = []
        xdgWmBaseCompatibility?.destroy()
        xdgWmBaseCompatibility = nil
        pendingFrameCallbacks = []
        pendingReleases = []
        firingCallbacks = []
        firingReleases = []
        latchChecks = []
        for s in holdingSurfaces { s.dropHeldCommits() }
        holdingSurfaces = []
        wl_display_destroy(display)
        runtimeDirectory?.close()
        logger.info("compositor shut down", metadata: [
            "frames": "\(framesRun)", "frames-composited": "\(output.frameCount)",
        ])
    }

    // MARK: frames

    /// A surface committed frame callbacks: they fire after the next frame.
    package func queueFrameCallbacks(_ callbacks: [any FrameCallbackObject]) {
        guard !callbacks.isEmpty else { return }
        pendingFrameCallbacks.append(contentsOf: callbacks)
        frameClock.schedule()
    }

    /// `wl_buffer.release` for a buffer a commit replaced after a frame latched it, sent with the
    /// next frame's events. compositord never reads it again either way; batching it with the
    /// frame callback means one message (one sendmsg, one client wake-up) per client per frame
    /// instead of two, and a client pacing itself by frame callbacks gets it no later than it
    /// could use it.
    package func releaseAfterFrame(_ buffer: Buffer) {
        buffer.releasePending = true
        pendingReleases.append(buffer)
        frameClock.schedule()
    }

    /// `wl_buffer.release` at once for a buffer replaced before any frame latched it (as sway
    /// does): a client swapping faster than the refresh without frame callbacks (Mesa's EGL at
    /// swap interval 0) would otherwise run out of buffers. Sent in request order (before the
    /// reply to a later wl_display.sync) and flushed by the event loop before it sleeps again.
    package func releaseUnlatched(_ buffer: Buffer) {
        buffer.releasePending = false  // a release queued for the frame would be a second one
        buffer.release()
    }

    /// A commit made `buffer` current on `surface`. On demand, a frame without a consumer reads
    /// no pixels, so a pool that could shrink is checked at the latch instead (one fstat; sealed
    /// pools never).
    package func attachedForLatch(_ surface: Surface, _ buffer: Buffer) {
        guard configuration.compositing == .onDemand, buffer.contents.canShrink else { return }
        latchChecks.append((surface, buffer))
    }

    /// The latch check: a buffer still to be shown whose pool file no longer covers it gets the
    /// same error as a read that took SIGBUS, before anything reads it.
    private func checkLatchedPools() {
        guard !latchChecks.isEmpty else { return }
        let checks = latchChecks
        latchChecks = []
        // Only what is still current: a replaced buffer is never read again (and may be released).
        for (surface, buffer) in checks where surface.current.buffer === buffer && buffer.contents.fileShrank {
            poolShrank(buffer, foundBy: .latchCheck)
        }
    }

    /// Calls `observer` after every frame until it returns false, and makes sure a frame comes.
    package func observeFrames(_ observer: FrameObserver) {
        frameObservers.append(observer)
        frameClock.schedule()
    }

    private func frame(presentedAt ns: UInt64) {
        framesRun += 1
        checkLatchedPools()
        var presented = true  // false when the frame could not be made (wp_presentation waits)
        if configuration.compositing == .everyFrame || !frameObservers.isEmpty {
            if compositeDamage() == nil { presented = false }
        }
        swap(&pendingReleases, &firingReleases)
        for buffer in firingReleases where buffer.releasePending {
            buffer.releasePending = false
            buffer.release()
        }
        firingReleases.removeAll(keepingCapacity: true)
        if presented { presentFeedbacks(atNs: ns) }
        let ms = UInt32(truncatingIfNeeded: ns / 1_000_000)
        swap(&pendingFrameCallbacks, &firingCallbacks)
        for cb in firingCallbacks { cb.done(timeMs: ms) }
        firingCallbacks.removeAll(keepingCapacity: true)
        if !frameObservers.isEmpty, let front = output.front {
            observedFrames += 1
            let info = FrameInfo(front: front, damage: unobservedDamage, presentedNs: ns, sequence: observedFrames)
            unobservedDamage = Region()
            let observers = frameObservers
            frameObservers = []
            frameObservers += observers.filter { $0.frameComposited(info) }
        } else if !unobservedDamage.isEmpty {
            observedFrames += 1  // a change no consumer saw: no history spans it (FrameInfo.sequence)
            unobservedDamage = Region()  // no consumer to tell
        }
    }

    /// Composites the damage accumulated since the last composite into a new front buffer: the
    /// one way into compositing, for frames and screenshots alike. Returns the repainted region,
    /// or nil when every buffer is held by consumers (the damage is kept for the next try:
    /// compositord never writes a buffer a consumer reads, nor waits).
    package func compositeDamage() -> Region? {
        // The first frame's damage is the whole output (added at start), and a buffer never drawn
        // is repainted whole by Output.composite.
        let damage = scene.takeDamage()
        guard !damage.isEmpty else { return Region() }
        guard let result = output.composite(scene, damage: damage, renderer: renderer) else {
            scene.addDamage(damage)
            return nil
        }
        for buffer in result.faulted { poolShrank(buffer, foundBy: .sigbus) }
        unobservedDamage.formUnion(damage)
        return damage
    }

    // MARK: protocol errors

    /// Posts a protocol error on `resource` (the client is disconnected after it) and logs it.
    package func postError(_ resource: OpaquePointer, code: UInt32, _ message: String) {
        let client = wl_resource_get_client(resource)!
        let iface = String(cString: wl_resource_get_class(resource))
        let id = wl_resource_get_id(resource)
        logger.warning("protocol error", metadata: [
            "client": "\(clients.describe(client))", "object": "\(iface)@\(id)", "code": "\(code)", "message": "\(message)",
        ])
        clients.record(client) { $0.protocolErrors += 1 }
        cw_resource_post_error(resource, code, message)
    }

    /// Statistics of every client so far (for `--stats`).
    public var statistics: Statistics {
        var s = Statistics(sealPolicy: configuration.sealPolicy.rawValue, clients: clients.statistics)
        s.folded = clients.folded
        s.foldedCount = clients.foldedCount
        return s
    }

    package func nextSerial() -> UInt32 { wl_display_next_serial(display) }
}

extension Server: FrameSource {}

extension Server: SurfaceDelegate {
    package func surfaceDestroyed(_ surface: Surface) { seat.surfaceDestroyed(surface) }
}
