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

/// The compositor: one wl_display with its globals, the scene, the outputs and their frame clocks.
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
    /// The outputs, in order (HEADLESS-1 first): each with its backend, frame clock, damage and
    /// capture consumers. The first one's clock also runs the server's frame work (commits
    /// latched, buffers released, frame callbacks and presentation feedback).
    package let outputs: [CompositorOutput]
    /// The first output.
    package var output: Output { outputs[0].output }
    package let renderer: PixmanRenderer
    package let clients: Clients
    /// The seat: virtual input devices and focus (no capabilities unless an embedder adds devices).
    package let seat: Seat
    /// The first output's frame clock: the one frame callbacks and presentation follow.
    package var frameClock: FrameClock { outputs[0].frameClock }
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
    /// The first output's wl_output state (presentation feedback's sync_output).
    package var outputState: OutputState { outputs[0].outputState }
    /// Each output's capture state, in the outputs' order; each finds the others' by wl_output.
    package private(set) lazy var captureStates: [CaptureState] = outputs.map { o in
        let state = CaptureState(context: self, frames: o, output: o.output, loop: loop,
                                 fenceDeadlineMs: configuration.fenceDeadlineMs, exportSyncFile: configuration.fenceWait == .auto)
        state.forOutput = { [unowned self] named in self.outputs.firstIndex { $0.output === named }.map { self.captureStates[$0] } }
        state.forToplevels = { [unowned self] in self.toplevelCaptureState }
        return state
    }
    /// Window captures' (toplevel sources): the layout's frames.
    package private(set) lazy var toplevelCaptureState = CaptureState(
        context: self, frames: layoutFrames, output: outputs[0].output, loop: loop,
        fenceDeadlineMs: configuration.fenceDeadlineMs, exportSyncFile: configuration.fenceWait == .auto)
    /// Frames of the whole layout, with the scene's damage, for window captures.
    package private(set) lazy var layoutFrames = LayoutFrames { [unowned self] in self.outputs[0].frameClock.schedule() }
    /// The first output's: what the capture globals are bound with (requests name the output).
    package var captureState: CaptureState { captureStates[0] }
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
    /// Buffers replaced by commits since the last frame (Server.releaseAfterFrame).
    private var pendingReleases: [Buffer] = []
    /// The arrays a frame works through, swapped with the pending ones so that neither side
    /// allocates per frame (their capacity is kept).
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
            var made: [Output] = []
            for (i, (config, placement)) in Server.placements(configuration).enumerated() {
                // Each output has its own swapchain from the same backend chain.
                let (backend, skipped) = try OutputBackends.make(configuration.outputDevice, width: config.width, height: config.height)
                for reason in skipped where i == 0 { logger.notice("output backend skipped: \(reason)") }
                if !backend.isDmabuf && i == 0 {
                    logger.warning("output is a sealed memfd, NOT a dma-buf: consumers cannot take frames by fd (export-dmabuf cancels)")
                }
                made.append(Output(backend: backend, refreshMilliHz: Int32((config.refreshHz * 1000).rounded()),
                                   name: "HEADLESS-\(i + 1)", placement: placement))
            }
            let scene = Scene(outputs: made.map(\.layout)), loop = loop
            self.scene = scene
            outputs = made.enumerated().map { i, o in CompositorOutput(output: o, index: i, loop: loop, scene: scene) }
        } catch {
            wl_display_destroy(display)
            throw .output("\(error)")
        }
        crossThread = CrossThreadQueue(display: display)
        seat = Seat(display: display, scene: scene, keyboard: keyboard)
        shell = Shell(scene: scene, seat: seat)
        outputs[0].frameClock.onFrame = { [unowned self] t in self.frame(presentedAt: t) }
        for o in outputs.dropFirst() {
            o.frameClock.onFrame = { [unowned self, unowned o] t in
                if self.compositeIfWatched(o) { self.presentFeedbacks(o, atNs: t) }
                self.fireFrameCallbacks(o, presentedAt: t)
                self.giveFrameToObservers(o, presentedAt: t)
            }
        }
        scene.onNeedsFrame = { [unowned self] in self.distributeSceneDamage() }
        scene.onOutputsChanged = { [unowned self] surface, entered, left in
            // Leaves first: a client never sees a surface on an output it already left.
            for o in self.outputs { o.outputState.outputsChanged(surface, entered: 0, left: left) }
            for o in self.outputs { o.outputState.outputsChanged(surface, entered: entered, left: 0) }
            self.compositorState.fractionalScale.update(surface)
        }
        // The scale a surface would best be drawn at: the largest of the outputs it is on.
        compositorState.fractionalScale.preferredScale = { [unowned self] surface in
            self.outputs.filter { surface.outputMask & (1 << UInt64($0.index)) != 0 }.map(\.output.placement.scale).max() ?? 1
        }
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
                for o in outputs { o.frameClock.shutdown() }
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
        for o in outputs.map(\.output) {
            let layout = o.layout
            logger.info("output ready", metadata: [
                "name": "\(o.name)", "backend": "\(o.backend.kind)", "device": "\(o.backend.device ?? "-")",
                "size": "\(o.width)x\(o.height)", "refresh-mHz": "\(o.refreshMilliHz)",
                "layout": "\(layout.width)x\(layout.height)+\(layout.x)+\(layout.y)", "scale": "\(o.placement.scale)",
                "transform": "\(o.placement.transform.rawValue)", "compositing": "\(configuration.compositing.rawValue)",
            ])
        }
        // The first frame paints the background.
        scene.addDamage(scene.bounds)
    }

    /// The lines compositord prints at start, one per output: `output: <backend> <device> <W>x<H>
    /// <format>`, followed by ` <name> <X>,<Y>` when there are several.
    public var outputSummary: String {
        outputs.map(\.output).map { o in
            let line = "output: \(o.backend.kind) \(o.backend.device ?? "-") \(o.width)x\(o.height) XRGB8888"
            return outputs.count == 1 ? line : "\(line) \(o.name) \(o.placement.x),\(o.placement.y)"
        }.joined(separator: "\n")
    }

    /// The outputs' names, in order ("HEADLESS-1", ...).
    public var outputNames: [String] { outputs.map(\.output.name) }

    /// Each configured output with its place: positions not given go right of the previous
    /// output, at y 0.
    static func placements(_ configuration: ServerConfiguration) -> [(OutputConfiguration, OutputPlacement)] {
        let configs = configuration.outputs.isEmpty
            ? [OutputConfiguration(width: configuration.width, height: configuration.height, refreshHz: configuration.refreshHz)]
            : configuration.outputs
        var nextX: Int32 = 0
        return configs.map { c in
            var p = OutputPlacement(scale: c.scale, transform: BufferTransform(rawValue: c.transform) ?? .normal)
            (p.x, p.y) = c.position ?? (nextX, 0)
            nextX = p.x + Output.logicalSize(width: c.width, height: c.height, p).width
            return (c, p)
        }
    }

    /// The output backend's kind ("drm-dumb", "udmabuf", "dma-heap", "memfd").
    public var outputBackendKind: String { output.backend.kind }

    /// Creates the globals of `Server.globalDefinitions` this server offers, then the v4
    /// xdg_wm_base twin that the global filter shows quirky clients instead (ClientQuirks).
    private func createGlobals() {
        for definition in Server.globalDefinitions where definition.isOffered(self) {
            // wl_output: one global per output.
            let binds: [(Server, OpaquePointer, UInt32, UInt32) -> Void] = definition.bindOutput.map { bindOutput in
                outputs.map { o in { s, c, v, id in bindOutput(s, o, c, v, id) } }
            } ?? [definition.bind]
            for bind in binds {
                guard let g = Global(display: display, interface: definition.interface, version: definition.version,
                                     bind: { [unowned self] c, v, id in bind(self, c, v, id) }) else {
                    logger.error("cannot create global", metadata: ["interface": "\(definition.name)"])
                    continue
                }
                globals.append(g)
            }
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
        for o in outputs { o.frameClock.shutdown() }
        // The outputs go away: captures in flight are cancelled before clients are dropped.
        for o in outputs {
            for observer in o.frameObservers { observer.outputGone() }
            o.frameObservers = []
        }
        layoutFrames.gone()
        wl_display_flush_clients(display)
        wl_display_destroy_clients(display)
        for g in globals { g.destroy() }
        globals = []
        xdgWmBaseCompatibility?.destroy()
        xdgWmBaseCompatibility = nil
        for o in outputs { o.pendingFrameCallbacks = []; o.firingCallbacks = [] }
        pendingReleases = []
        firingReleases = []
        latchChecks = []
        for s in holdingSurfaces { s.dropHeldCommits() }
        holdingSurfaces = []
        wl_display_destroy(display)
        runtimeDirectory?.close()
        logger.info("compositor shut down", metadata: [
            "frames": "\(framesRun)", "frames-composited": "\(outputs.map { String($0.output.frameCount) }.joined(separator: ","))",
        ])
    }

    // MARK: frames

    /// A surface committed frame callbacks: they fire after the next frame of the output it is
    /// on (the first of them when it spans several; the first output when it is on none), so a
    /// client drawing on a 30 Hz output is paced at 30 Hz.
    package func queueFrameCallbacks(_ callbacks: [any FrameCallbackObject], of surface: Surface) {
        guard !callbacks.isEmpty else { return }
        let o = frameOutput(of: surface)
        o.pendingFrameCallbacks.append(contentsOf: callbacks)
        o.frameClock.schedule()
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

    /// The scene's new damage goes to the outputs it falls on (in their coordinates); each one
    /// watched or composited every frame gets a frame, and the first output's clock runs the
    /// frame work (commits latched, callbacks) whatever was damaged.
    private func distributeSceneDamage() {
        let damage = scene.takeDamage()
        guard !damage.isEmpty else { return }  // else a frame would ask for the next, forever
        layoutFrames.damaged(damage)
        for o in outputs {
            let layout = o.output.layout
            // The one output at the origin (the default): the scene clipped the damage to it.
            let local = layout == scene.bounds ? damage : damage.intersection(layout).translated(dx: -layout.x, dy: -layout.y)
            guard !local.isEmpty else { continue }
            o.damage.formUnion(local)
            if o.index > 0, configuration.compositing == .everyFrame || !o.frameObservers.isEmpty { o.frameClock.schedule() }
        }
        outputs[0].frameClock.schedule()
    }

    /// Composites `o` when a consumer watches it or every frame is composited; false when that
    /// failed (every buffer held).
    @discardableResult
    private func compositeIfWatched(_ o: CompositorOutput) -> Bool {
        guard configuration.compositing == .everyFrame || !o.frameObservers.isEmpty else { return true }
        return compositeDamage(o) != nil
    }

    /// The first output's vblank: the server's frame work, and that output's frame.
    private func frame(presentedAt ns: UInt64) {
        framesRun += 1
        checkLatchedPools()
        let presented = compositeIfWatched(outputs[0])  // false: no frame (wp_presentation waits)
        swap(&pendingReleases, &firingReleases)
        for buffer in firingReleases where buffer.releasePending {
            buffer.releasePending = false
            buffer.release()
        }
        firingReleases.removeAll(keepingCapacity: true)
        if presented { presentFeedbacks(outputs[0], atNs: ns) }
        fireFrameCallbacks(outputs[0], presentedAt: ns)
        giveFrameToObservers(outputs[0], presentedAt: ns)
        // Window captures need a FrameInfo's front buffer: the first output's, once there is one.
        if layoutFrames.isWatched, outputs[0].output.front == nil { _ = compositeDamage(outputs[0]) }
        layoutFrames.deliver(front: outputs[0].output.front, presentedAt: ns)
    }

    /// The frame callbacks queued on `o` are done, with its frame's millisecond timestamp.
    private func fireFrameCallbacks(_ o: CompositorOutput, presentedAt ns: UInt64) {
        let ms = UInt32(truncatingIfNeeded: ns / 1_000_000)
        swap(&o.pendingFrameCallbacks, &o.firingCallbacks)
        for cb in o.firingCallbacks { cb.done(timeMs: ms) }
        o.firingCallbacks.removeAll(keepingCapacity: true)
    }

    /// Hands `o`'s front buffer and the damage since its consumers' last frame to them.
    private func giveFrameToObservers(_ o: CompositorOutput, presentedAt ns: UInt64) {
        if !o.frameObservers.isEmpty, let front = o.output.front {
            o.observedFrames += 1
            let info = FrameInfo(front: front, damage: o.unobservedDamage, presentedNs: ns, sequence: o.observedFrames)
            o.unobservedDamage = Region()
            let observers = o.frameObservers
            o.frameObservers = []
            o.frameObservers += observers.filter { $0.frameComposited(info) }
        } else if !o.unobservedDamage.isEmpty {
            o.observedFrames += 1  // a change no consumer saw: no history spans it (FrameInfo.sequence)
            o.unobservedDamage = Region()  // no consumer to tell
        }
    }

    /// Composites the damage accumulated on `o` since its last composite into a new front
    /// buffer: the one way into compositing, for frames and screenshots alike. Returns the
    /// framebuffer damage, or nil when every buffer is held by consumers (the damage is kept for
    /// the next try: compositord never writes a buffer a consumer reads, nor waits).
    package func compositeDamage(_ o: CompositorOutput) -> Region? {
        // The first frame's damage is the whole layout (added at start), and a buffer never drawn
        // is repainted whole by Output.composite.
        distributeSceneDamage()
        let damage = o.damage
        guard !damage.isEmpty else { return Region() }
        o.damage = Region()
        guard let result = o.output.composite(scene, damage: damage, renderer: renderer) else {
            o.damage.formUnion(damage)
            o.frameClock.schedule()  // tried again at the next vblank
            return nil
        }
        for buffer in result.faulted { poolShrank(buffer, foundBy: .sigbus) }
        o.unobservedDamage.formUnion(result.damage)
        return result.damage
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

extension Server: SurfaceDelegate {
    package func surfaceDestroyed(_ surface: Surface) { seat.surfaceDestroyed(surface) }
}
