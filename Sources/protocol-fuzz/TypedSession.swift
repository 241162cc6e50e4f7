import Glibc
import WaylandTestSupport

/// A fuzz client that speaks well-typed requests: it binds every global (at random versions,
/// sometimes invalid ones), often builds real state first (windows with buffers, sub-surfaces,
/// popups, captures, dma-buf params, data sources), then sends random requests on its live
/// objects with arguments that are mostly sensible and sometimes hostile.
///
/// Choices depend only on the seed and on events applied at sync barriers (configure serials,
/// globals, capture sizes), so a session replays the same way from its seed.
final class TypedSession: FuzzSession {
    let index: Int
    let seed: UInt64
    let kind = "typed"
    let connection: WireConnection
    private(set) var outcome: SessionOutcome?
    private(set) var requestCount = 0

    var rng: FuzzRandom
    let fds = FdFactory()
    private let replyTimeout: Double
    /// Probability that an argument is replaced by a hostile value (per session).
    let aggression: Double
    private var budget: Int
    private let abandonAtEnd: Bool
    private var sinceBarrier = 0
    private var nextBarrier = 16

    struct GlobalInfo { let name: UInt32, interface: String, version: UInt32 }
    var globals: [GlobalInfo] = []
    /// The first object bound per global interface.
    var bound: [String: UInt32] = [:]
    /// Objects the session may use, in creation order (the fuzzer's view, never timing's).
    private(set) var live: [UInt32] = []
    private(set) var dead: [UInt32] = []
    private(set) var serials: [UInt32] = []
    var outputSize = (width: 640, height: 480)
    /// Objects a scenario made, by role ("toplevel.surface"...), for its later steps.
    var named: [String: UInt32] = [:]
    var registry: UInt32 = 0
    /// Set while building arguments when a non-nullable object had no candidate.
    var missingObject = false
    /// dups of the memfds behind pools, by pool id, so the pools can grow (closed at the end).
    var poolFiles: [UInt32: Int32] = [:]
    var pendingPoolFile: Int32?

    enum Step {
        case run((TypedSession) -> Void)
        /// wl_display.sync, and wait for its done (events before it are applied then).
        case barrier
    }
    var script: [Step] = []

    private struct Wait { let id: UInt32; let deadline: Double; let final: Bool; var done = false }
    private var waiting: Wait?
    private var pendingEvents: [WireEvent] = []
    /// After wl_display.error: the compositor must hang up; a sync after a while makes it notice.
    private var hangUpDeadline: Double?
    private var poked = false

    init(index: Int, seed: UInt64, socketPath: String, replyTimeout: Double) throws {
        self.index = index
        self.seed = seed
        self.replyTimeout = replyTimeout
        rng = FuzzRandom(seed: seed)
        connection = try WireConnection(path: socketPath, interfaces: Catalog.interface)
        aggression = rng.weighted([(20, 0.0), (20, 0.01), (25, 0.03), (20, 0.1), (15, 0.3)])
        budget = rng.weighted([(20, (5, 20)), (50, (20, 100)), (30, (100, 400))]).0
        budget = rng.int(budget...(budget * 2))
        abandonAtEnd = rng.chance(0.1)
        nextBarrier = rng.int(8...40)
        connection.onEvent = { [unowned self] event in self.received(event) }
        planScript()
    }

    var isBusy: Bool { outcome == nil && waiting == nil && hangUpDeadline == nil }

    func close() {
        if outcome == nil { outcome = .abandoned }
        release()
    }

    private func finish(_ outcome: SessionOutcome) {
        guard self.outcome == nil else { return }
        self.outcome = outcome
        release()
    }

    private func release() {
        connection.close()
        fds.closeAll()
        for fd in poolFiles.values { Glibc.close(fd) }
        poolFiles = [:]
        if let fd = pendingPoolFile { Glibc.close(fd) }
        pendingPoolFile = nil
    }

    func step(now: Double) {
        guard outcome == nil else { return }
        if let error = connection.protocolError {
            // The error must be followed by a hang-up.
            if connection.isClosed { return finish(.protocolError(error)) }
            if hangUpDeadline == nil { hangUpDeadline = now + replyTimeout }
            if !poked, now > hangUpDeadline! - replyTimeout + 1 {
                // libwayland destroys an errored client on its next readable event.
                poked = true
                connection.request(1, "sync", [.freshID])
                connection.flush()
            }
            if now > hangUpDeadline! {
                finish(.hang("wl_display.error \(error.key) but no hang-up within \(Int(replyTimeout)) s"))
            }
            return
        }
        if connection.isClosed { return finish(.disconnected(connection.closedReason ?? "")) }
        if let w = waiting {
            if w.done {
                waiting = nil
                if w.final { return finish(.alive) }
            } else {
                if now > w.deadline {
                    finish(.hang("no reply to wl_display.sync within \(Int(replyTimeout)) s"))
                }
                return
            }
        }
        var steps = 0
        while waiting == nil, outcome == nil, steps < 16 {
            steps += 1
            if !script.isEmpty {
                switch script.removeFirst() {
                case .run(let body): body(self)
                case .barrier: barrier(now: now)
                }
            } else if budget > 0 {
                budget -= 1
                randomAction()
                sinceBarrier += 1
                if sinceBarrier >= nextBarrier {
                    sinceBarrier = 0
                    nextBarrier = rng.int(8...40)
                    barrier(now: now)
                }
            } else if abandonAtEnd {
                connection.flush()
                return finish(.abandoned)
            } else {
                barrier(now: now, final: true)
            }
        }
        connection.flush()
    }

    private func barrier(now: Double, final: Bool = false) {
        let id = connection.request(1, "sync", [.freshID])[0]
        waiting = Wait(id: id, deadline: now + replyTimeout, final: final)
    }

    // MARK: events

    private func received(_ event: WireEvent) {
        if event.interface.name == "wl_callback", event.object == waiting?.id {
            // Everything before this done answers requests sent before the sync: apply it now.
            for e in pendingEvents { apply(e) }
            pendingEvents = []
            waiting?.done = true
            return
        }
        pendingEvents.append(event)
        if pendingEvents.count > 4096 { pendingEvents.removeFirst(1024) }
    }

    private func noteSerial(_ value: WireValue) {
        guard let s = value.uint32 else { return }
        serials.append(s)
        if serials.count > 16 { serials.removeFirst() }
    }

    private func apply(_ e: WireEvent) {
        // Objects the compositor made for us become usable.
        for (i, arg) in e.spec.arguments.enumerated() where arg.type == UInt8(ascii: "n") {
            if let id = e.arguments[i].uint32, connection.objects[id] != nil { live.append(id) }
        }
        switch (e.interface.name, e.spec.name) {
        case ("wl_registry", "global"):
            if let name = e.arguments[0].uint32, let iface = e.arguments[1].bytes, let version = e.arguments[2].uint32 {
                globals.append(GlobalInfo(name: name, interface: String(decoding: iface, as: UTF8.self), version: version))
            }
        case ("xdg_surface", "configure"):
            connection.setAttribute(e.object, "serial", Int(e.arguments[0].uint32 ?? 0))
            noteSerial(e.arguments[0])
        case ("xdg_wm_base", "ping"):
            connection.setAttribute(e.object, "ping", Int(e.arguments[0].uint32 ?? 0))
            noteSerial(e.arguments[0])
        case ("wl_output", "mode"):
            if case .int(let w) = e.arguments[1], case .int(let h) = e.arguments[2], w > 0, h > 0 {
                outputSize = (Int(w), Int(h))
            }
        case ("ext_image_copy_capture_session_v1", "buffer_size"):
            connection.setAttribute(e.object, "width", Int(e.arguments[0].uint32 ?? 0))
            connection.setAttribute(e.object, "height", Int(e.arguments[1].uint32 ?? 0))
        case ("zwlr_screencopy_frame_v1", "buffer"):
            for (i, key) in ["format", "width", "height", "stride"].enumerated() {
                connection.setAttribute(e.object, key, Int(e.arguments[i].uint32 ?? 0))
            }
        case ("xdg_toplevel", "configure"):
            if case .int(let w) = e.arguments[0], case .int(let h) = e.arguments[1] {
                connection.setAttribute(e.object, "width", Int(w))
                connection.setAttribute(e.object, "height", Int(h))
            }
        case (_, "enter"), (_, "leave"), (_, "button"), (_, "key"), (_, "down"), (_, "up"), (_, "modifiers"):
            if e.spec.arguments.first?.type == UInt8(ascii: "u") { noteSerial(e.arguments[0]) }
        default:
            break
        }
    }

    // MARK: requests

    func attribute(_ id: UInt32, _ key: String) -> Int? { connection.objects[id]?.attributes[key] }

    /// A live object of `interface` (other than `excluding`), chosen at random.
    func pickLive(_ interface: String, excluding: UInt32? = nil) -> UInt32? {
        let matches = live.filter {
            $0 != excluding && connection.objects[$0]?.interface.name == interface
                && connection.objects[$0]?.destroyedByClient == false
        }
        return matches.isEmpty ? nil : rng.pick(matches)
    }

    /// Sends `name` on a live object with the given arguments (scenarios).
    @discardableResult
    func send(_ id: UInt32, _ name: String, _ arguments: [WireValue] = []) -> [UInt32] {
        guard let object = connection.objects[id], let (opcode, _) = object.interface.request(named: name) else {
            for case .fd(let fd, _) in arguments { Glibc.close(fd) }
            return []
        }
        return emit(id, interface: object.interface, version: object.version, opcode: opcode, arguments, malformation: nil)
    }

    @discardableResult
    private func emit(
        _ id: UInt32, interface: InterfaceSpec, version: UInt32, opcode: Int, _ arguments: [WireValue], malformation: Malformation?
    ) -> [UInt32] {
        requestCount += 1
        let created = connection.request(id, interface: interface, version: version, opcode: opcode, arguments, malformation: malformation)
        live += created
        if opcode < interface.requests.count {
            let spec = interface.requests[opcode]
            if spec.isDestructor, malformation == nil {
                live.removeAll { $0 == id }
                dead.append(id)
            }
            var resolved = arguments
            var fresh = created.makeIterator()
            for i in resolved.indices { if case .freshID = resolved[i], let n = fresh.next() { resolved[i] = .newID(n) } }
            recordAttributes(id, interface.name, spec.name, resolved)
        }
        return created
    }

    /// One random request (or, rarely, a pool file truncated under the compositor).
    private func randomAction() {
        if rng.chance(0.02), let what = fds.truncateKept(&rng) {
            connection.trace.append(what)
            return
        }
        let candidates = live.filter { id in
            guard let o = connection.objects[id], !o.destroyedByClient else { return false }
            return o.interface.requests.contains { $0.since <= o.version }
        }
        if candidates.isEmpty || rng.chance(0.002 + aggression * 0.1) {
            return invalidTarget()
        }
        let id = rng.pick(candidates)
        let object = connection.objects[id]!
        let requests = object.interface.requests
        let valid = requests.indices.filter { requests[$0].since <= object.version }
        var opcode = rng.pick(valid)
        // Requests that always end a session wait for aggressive sessions, so that calm ones get deep.
        if Self.alwaysFatal.contains("\(object.interface.name).\(requests[opcode].name)"), rng.chance(0.95 - aggression * 3) {
            return
        }
        if rng.chance(0.001 + aggression * 0.05) {
            opcode = rng.pick([requests.count, requests.count + 1, 0xFFFF])
        } else if rng.chance(0.001 + aggression * 0.05), let newer = requests.indices.filter({ requests[$0].since > object.version }).first {
            opcode = newer
        }
        guard opcode < requests.count else {
            emit(id, interface: object.interface, version: object.version, opcode: opcode,
                 (0..<rng.int(0...3)).map { _ in .int(Values.int(&rng)) }, malformation: nil)
            return
        }
        let spec = requests[opcode]
        missingObject = false
        var args = sensibleArguments(object, spec) ?? spec.arguments.map { plausible($0) }
        if missingObject, rng.chance(0.9 - aggression * 2) {
            // An object argument has nothing to point at yet: null would end the session.
            for case .fd(let fd, _) in args { Glibc.close(fd) }
            return
        }
        for i in args.indices where i < spec.arguments.count && rng.chance(aggression) {
            if case .fd(let fd, _) = args[i] { Glibc.close(fd) }
            args[i] = hostile(spec.arguments[i])
        }
        emit(id, interface: object.interface, version: object.version, opcode: opcode, args, malformation: randomMalformation(spec))
    }

    /// A request on an id that is dead, unknown, null, or the server's.
    private func invalidTarget() {
        let id: UInt32 = rng.weighted([
            (4, dead.isEmpty ? 0 : rng.pick(dead)), (3, connection.peekNextID + UInt32(rng.int(0...100))), (1, 0),
            (1, 0xFF00_0000 + UInt32(rng.int(0...3))),
        ])
        let interface = rng.pick(Array(Catalog.interfaces.values).sorted { $0.name < $1.name })
        guard !interface.requests.isEmpty else { return }
        let opcode = rng.int(0..<interface.requests.count)
        let args = interface.requests[opcode].arguments.map { plausible($0) }
        emit(id, interface: interface, version: 1, opcode: opcode, args, malformation: nil)
    }

    private func randomMalformation(_ spec: MessageSpec) -> Malformation? {
        guard rng.chance(aggression * 0.15) else { return nil }
        let hasFd = spec.arguments.contains { $0.type == UInt8(ascii: "h") }
        switch rng.int(0..<4) {
        case 0 where !spec.arguments.isEmpty: return .truncated(words: rng.int(1...2))
        case 1: return .trailing(rng.bytes(4 * rng.int(1...8)))
        case 2 where hasFd: return .missingFds
        default:
            let extra = (0..<rng.int(1...3)).compactMap { _ in fds.random(&rng) }.map { ($0.fd, $0.kind) }
            return .extraFds(extra)
        }
    }

    /// Requests that end the session whatever their arguments (no seat devices; destroying
    /// xdg_wm_base or wl_shm_pool users is fine but xdg_wm_base with surfaces is not).
    static let alwaysFatal: Set<String> = [
        "wl_seat.get_pointer", "wl_seat.get_keyboard", "wl_seat.get_touch", "xdg_wm_base.destroy",
        // Only a real dma-buf imports, and this machine may have none: invalid_wl_buffer.
        "zwp_linux_buffer_params_v1.create_immed",
    ]

    // MARK: argument values

    /// A value of the right type that a careless but honest client might send.
    func plausible(_ arg: ArgumentSpec) -> WireValue {
        switch arg.type {
        case UInt8(ascii: "i"): return .int(Int32(rng.int(0...64)))
        case UInt8(ascii: "u"): return .uint(serials.isEmpty || rng.chance(0.5) ? UInt32(rng.int(0...8)) : rng.pick(serials))
        case UInt8(ascii: "f"): return .fixed(Int32(rng.int(0...64) * 256))
        case UInt8(ascii: "s"): return .string(Array("fuzz".utf8))
        case UInt8(ascii: "o"):
            if let name = arg.interface, let id = pickLive(name), !(arg.nullable && rng.chance(0.2)) { return .object(id) }
            if !arg.nullable { missingObject = true }
            return .object(0)
        case UInt8(ascii: "n"): return .freshID
        case UInt8(ascii: "a"): return .array([])
        case UInt8(ascii: "h"):
            if let f = fds.make(.sealedMemfd, size: 4096) { return .fd(f.fd, kind: f.kind) }
            return .fd(-1, kind: "none")
        default: return .uint(0)
        }
    }

    /// A value chosen to break things: extremes, wrong objects, bad new ids, odd fds.
    func hostile(_ arg: ArgumentSpec) -> WireValue {
        switch arg.type {
        case UInt8(ascii: "i"): return .int(Values.int(&rng))
        case UInt8(ascii: "u"): return .uint(Values.uint(&rng, serials: serials))
        case UInt8(ascii: "f"): return .fixed(Values.fixed(&rng))
        case UInt8(ascii: "s"): return Values.string(&rng)
        case UInt8(ascii: "a"): return .array(Values.array(&rng))
        case UInt8(ascii: "o"):
            let others = live.filter { connection.objects[$0]?.interface.name != arg.interface }
            return .object(rng.weighted([
                (3, 0), (3, dead.isEmpty ? 0 : rng.pick(dead)), (4, others.isEmpty ? 1 : rng.pick(others)),
                (2, connection.peekNextID + UInt32(rng.int(1...50))), (1, 1), (1, 0xFF00_0000),
            ]))
        case UInt8(ascii: "n"):
            return .newID(rng.weighted([
                (2, 0), (2, UInt32.max), (3, live.isEmpty ? 1 : rng.pick(live)), (3, connection.peekNextID + UInt32(rng.int(1...50))),
                (2, 0xFF00_0000 + UInt32(rng.int(0...2))), (1, 1),
            ]))
        case UInt8(ascii: "h"):
            if let f = fds.random(&rng) { return .fd(f.fd, kind: f.kind) }
            return .fd(-1, kind: "none")
        default: return .uint(0)
        }
    }
}
