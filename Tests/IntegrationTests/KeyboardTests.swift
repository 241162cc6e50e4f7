import ClientKit
import CWayland
import Foundation
import Glibc
import Testing
import WaylandTestSupport

/// The seat's keyboard (a real XKB keymap in a sealed file, repeat info, focus with keys and
/// modifiers) and zwp_virtual_keyboard_v1 (wtype into foot; hostile keymaps and floods), against
/// the real compositord (docs/input.md).
@Suite struct KeyboardTests {
    let timeout = Duration.seconds(30)

    /// A compositord with a 64×64 window mapped (so it is active and has keyboard focus) and the
    /// window's client's keyboard.
    final class Scene {
        let compositor: CompositorProcess
        let display: String
        let context: ClientContext
        let toplevel: Toplevel
        let keyboard: Keyboard
        let buffers: BufferSet<ShmBuffer>

        init(_ arguments: [String] = [], environment: [String: String] = [:]) throws {
            compositor = try CompositorProcess(["--width", "320", "--height", "240"] + arguments, environment: environment)
            display = "\(compositor.runtime.path)/\(compositor.socketName)"
            context = try ClientContext(displayName: display, timeout: .seconds(30))
            keyboard = try Keyboard(registry: context.registry, timeout: .seconds(30))
            toplevel = Toplevel(context: context, title: "keys", appID: "test")
            try toplevel.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
            buffers = try BufferSet(shm: context.shm, width: 64, height: 64, count: 1)
            let cb = try #require(toplevel.present(buffers.buffers[0]))
            try context.connection.wait(timeout: .seconds(30)) { cb.isDone }.orThrow(waitingFor: "frame callback")
        }

        /// Runs wtype against this compositor.
        func wtype(_ arguments: [String]) throws -> ProcessResult {
            try compositor.run("/usr/bin/wtype", arguments, timeout: 30, tag: "wtype")
        }
    }

    /// The first group's name in a keymap compositord serialized (`name[Group1]="English (US)";`).
    static func symbols(_ text: String) -> String {
        text.split(separator: "\n").first { $0.lowercased().contains("name[group1]") }.map(String.init) ?? ""
    }

    @Test func theSeatHasAKeyboardWithARealKeymapInASealedReadOnlyFile() throws {
        let scene = try Scene()
        let k = scene.keyboard
        #expect(k.capabilities == WL_SEAT_CAPABILITY_KEYBOARD.rawValue)
        let keymap = try #require(k.keymaps.first)
        #expect(k.keymaps.count == 1)
        #expect(keymap.format == WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1.rawValue)
        #expect(keymap.text.hasPrefix("xkb_keymap {") && Int(keymap.size) == keymap.text.utf8.count + 1, "\(keymap.text.prefix(200))")
        #expect(Self.symbols(keymap.text).contains("\"English (US)\""), "\(Self.symbols(keymap.text))")
        let all = Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL)
        #expect(keymap.seals & all == all, "seals \(keymap.seals)")
        #expect(keymap.readOnly && keymap.sharedWritableMappingRefused)
        #expect(k.repeatInfo?.rate == 25 && k.repeatInfo?.delay == 600)
        // The window mapped after the keyboard was made: it is active, so it has the focus.
        #expect(k.focus == scene.toplevel.surface.proxy)
        #expect(k.modifiers.map { $0 == (0, 0, 0, 0) } == true)
    }

    @Test func theLayoutComesFromTheFlagThenTheEnvironment() throws {
        let german = try Scene(["--keyboard-layout", "de"], environment: ["XKB_DEFAULT_LAYOUT": "fr"])
        #expect(Self.symbols(german.keyboard.keymapText ?? "").contains("\"German\""), "\(Self.symbols(german.keyboard.keymapText ?? ""))")
        let french = try Scene(environment: ["XKB_DEFAULT_LAYOUT": "fr"])
        #expect(Self.symbols(french.keyboard.keymapText ?? "").contains("\"French\""), "\(Self.symbols(french.keyboard.keymapText ?? ""))")

        // A layout xkb does not know: compositord says so and does not start.
        let runtime = RuntimeDir()
        let child = try Child("\(productsDirectory)/compositord", ["--headless", "--keyboard-layout", "nosuchlayout"],
                              environment: ["XDG_RUNTIME_DIR": runtime.path], dir: runtime.path, tag: "compositord")
        let r = child.wait(timeout: 30)
        #expect(!r.timedOut && r.status != 0)
        #expect(r.stderr.contains("cannot make the seat's keyboard") && r.stderr.contains("nosuchlayout"), "\(r.stderr)")
    }

    /// wtype makes a virtual keyboard with its own keymap: the focused client is sent that keymap
    /// before the keys, then the keys, and the modifiers wtype sets.
    @Test func virtualKeysReachTheFocusedClientWithTheDevicesKeymap() throws {
        try ApplicationSession.require("/usr/bin/wtype", package: "wtype")
        let scene = try Scene()
        let r = try scene.wtype(["-M", "shift", "a", "-m", "shift"])
        #expect(r.status == 0 && !r.timedOut, "\(r.stderr)")
        try scene.context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the keys")
        let k = scene.keyboard
        #expect(k.keymaps.count == 2, "the virtual keyboard's keymap is sent once before its keys")
        #expect(k.keymaps.last.map { $0.readOnly && $0.seals & Int32(CW_F_SEAL_WRITE) != 0 } == true,
                "a client's keymap reaches others in compositord's own sealed file")
        #expect(k.keys.map(\.state) == [1, 0], "\(k.keys)")
        #expect(k.modifiersEvents >= 3, "enter, shift down, shift up: \(k.modifiersEvents)")
        #expect(k.modifiers.map { $0.depressed == 0 } == true)
        #expect(scene.compositor.isRunning)
    }

    /// The issue's own test: wtype types into a focused foot, whose shell writes the line it read.
    @Test func wtypeTypesIntoFoot() throws {
        try ApplicationSession.require("/usr/bin/wtype", package: "wtype")
        try ApplicationSession.require("/usr/bin/foot", package: "foot")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let out = "\(c.runtime.path)/typed.txt"
        let foot = try c.start("/usr/bin/foot", ["--config=/dev/null", "/bin/sh", "-c", "read line; echo \"$line\" > '\(out)'; sleep 600"], tag: "foot")
        defer { foot.signal(SIGKILL); foot.wait(timeout: 10) }
        // foot's window is mapped (and so focused) once the toplevel list shows it.
        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let registry = Registry(connection: connection)
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the globals")
        let list = try ForeignToplevelList(registry: registry, timeout: timeout)
        let deadline = Date().addingTimeInterval(30)
        while !list.toplevels.contains(where: { $0.appID == "foot" }), Date() < deadline {
            _ = try? connection.roundtrip(timeout: timeout)
            usleep(50_000)
        }
        #expect(list.toplevels.contains { $0.appID == "foot" }, "foot did not map: \(foot.stderr)")
        let typed = try c.run("/usr/bin/wtype", ["hello wörld, 1+1=2"], tag: "wtype")
        #expect(typed.status == 0, "\(typed.stderr)")
        let enter = try c.run("/usr/bin/wtype", ["-k", "Return"], tag: "wtype-return")
        #expect(enter.status == 0, "\(enter.stderr)")
        let written = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: out), Date() < written { usleep(50_000) }
        usleep(100_000)
        #expect((try? String(contentsOfFile: out, encoding: .utf8)) == "hello wörld, 1+1=2\n", "foot: \(foot.stderr)")
        #expect(c.isRunning)
    }
}

/// Hostile virtual keyboards: keymaps that are not what they claim, keys without a keymap, and
/// floods. Each ends in the protocol's error or a bounded amount of work, never a stall.
@Suite struct VirtualKeyboardErrorTests {
    /// A raw client with a wl_seat, a virtual keyboard manager and one virtual keyboard.
    struct Raw {
        let client: RawWaylandClient
        let keyboard: UInt32

        init(_ socket: String) throws {
            client = RawWaylandClient.registry(at: socket)
            let seat = client.bind(name: try #require(client.globalName("wl_seat")), interface: "wl_seat", version: 1)
            let manager = client.bind(name: try #require(client.globalName("zwp_virtual_keyboard_manager_v1")),
                                      interface: "zwp_virtual_keyboard_manager_v1", version: 1)
            keyboard = client.newID()
            client.send(RawWaylandClient.message(object: manager, opcode: 0, [seat, keyboard]))
        }

        func keymap(format: UInt32 = 1, fd: Int32, size: UInt32) {
            client.send(RawWaylandClient.message(object: keyboard, opcode: 0, [format, size]), fds: [fd])
        }

        func key(_ code: UInt32, pressed: Bool) {
            client.send(RawWaylandClient.message(object: keyboard, opcode: 1, [0, code, pressed ? 1 : 0]))
        }
    }

    static let keymap = Array("""
        xkb_keymap {
        xkb_keycodes "t" { minimum = 8; maximum = 255; <K1> = 10; };
        xkb_types "t" { include "complete" };
        xkb_compatibility "t" { include "complete" };
        xkb_symbols "t" { key <K1> { [ a, A ] }; };
        };
        """.utf8) + [0]

    /// A sealed memfd holding `bytes`.
    static func file(_ bytes: [UInt8]) -> Int32 {
        let fd = cw_memfd_create("keymap", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL))
        return fd
    }

    @Test func keysBeforeAKeymapAreNoKeymap() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)")
        raw.key(30, pressed: true)
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.keyboard && raw.client.displayError?.code == 0, "\(String(describing: raw.client.displayError))")
        #expect(raw.client.displayError?.message.contains("keymap (xkb_v1) first") == true, "\(String(describing: raw.client.displayError))")
    }

    /// Each lie about the keymap is invalid_keymap_format, with a message that says what to send.
    @Test(arguments: ["format", "size-zero", "size-past-end", "size-huge", "pipe", "directory", "garbage", "dev-null"])
    func aKeymapThatIsNotWhatItClaimsIsInvalidKeymapFormat(_ lie: String) throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)")
        let good = Self.file(Self.keymap)
        defer { close(good) }
        var ends: [Int32] = [-1, -1]
        pipe(&ends)
        defer { ends.forEach { close($0) } }  // the write end stays open: a read would wait forever
        let n = UInt32(Self.keymap.count)
        switch lie {
        case "format": raw.keymap(format: 0, fd: good, size: n)
        case "size-zero": raw.keymap(fd: good, size: 0)
        case "size-past-end": raw.keymap(fd: good, size: n + 4096)
        case "size-huge": raw.keymap(fd: good, size: 0xFFFF_FFFF)
        case "pipe": raw.keymap(fd: ends[0], size: n)
        case "directory":
            let d = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            raw.keymap(fd: d, size: n)
            close(d)
        case "dev-null":
            let d = open("/dev/null", O_RDONLY | O_CLOEXEC)
            raw.keymap(fd: d, size: n)
            close(d)
        default:
            let garbage = Self.file(Array("xkb_keymap { this is not a keymap".utf8) + [0])
            raw.keymap(fd: garbage, size: 34)
            close(garbage)
        }
        let start = monotonicSeconds()
        #expect(!raw.client.roundtrip())
        #expect(monotonicSeconds() - start < 5, "the error took \(monotonicSeconds() - start) s")
        let error = raw.client.displayError
        #expect(error?.objectID == raw.keyboard && error?.code == 1, "\(lie): \(String(describing: error))")
        #expect(error?.message.contains(":") == true, "\(String(describing: error))")
        // compositord goes on serving others.
        let other = RawWaylandClient.registry(at: "\(c.runtime.path)/\(c.socketName)")
        #expect(other.roundtrip() && c.isRunning)
    }

    /// A flood of keys into a focused client that never reads: compositord keeps answering
    /// others, and keeps a bounded list of held keys.
    @Test func aKeyFloodIsBounded() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let socket = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: socket, timeout: .seconds(30))
        let keyboard = try Keyboard(registry: context.registry, timeout: .seconds(30))
        let toplevel = Toplevel(context: context, title: "flooded", appID: "test")
        try toplevel.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
        let buffers = try BufferSet(shm: context.shm, width: 32, height: 32, count: 1)
        _ = toplevel.present(buffers.buffers[0], requestFrame: false)
        try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the map")
        #expect(keyboard.focus == toplevel.surface.proxy)

        let raw = try Raw(socket)
        let fd = Self.file(Self.keymap)
        raw.keymap(fd: fd, size: UInt32(Self.keymap.count))
        close(fd)
        // Presses of ever new codes (held keys are capped), then press/release pairs.
        for code in UInt32(1)...2000 { raw.key(code, pressed: true) }
        for _ in 0..<10_000 { raw.key(2, pressed: true); raw.key(2, pressed: false) }
        let start = monotonicSeconds()
        let other = RawWaylandClient.registry(at: socket)
        #expect(other.roundtrip(timeout: 10), "compositord stopped answering under the flood")
        #expect(monotonicSeconds() - start < 5)
        #expect(raw.client.roundtrip() && raw.client.displayError == nil)
        #expect(c.isRunning)
    }
}

extension KeyboardTests {
    /// --virtual-input deny: the virtual keyboard and data-control managers are hidden from every
    /// client, a name cannot be bound by guessing, and wtype gives up; the seat's own keyboard
    /// and the core data device stay (ClipboardTests pastes through it then).
    @Test func virtualInputDenyHidesTheVirtualKeyboardManager() throws {
        let allow = try CompositorProcess(["--width", "320", "--height", "240"])
        let name = try #require(RawWaylandClient.registry(at: "\(allow.runtime.path)/\(allow.socketName)").globalName("zwp_virtual_keyboard_manager_v1"))

        let deny = try CompositorProcess(["--width", "320", "--height", "240", "--virtual-input", "deny"])
        let socket = "\(deny.runtime.path)/\(deny.socketName)"
        let raw = RawWaylandClient.registry(at: socket)
        for hidden in ["zwp_virtual_keyboard_manager_v1", "zwlr_virtual_pointer_manager_v1", "zwlr_data_control_manager_v1", "ext_data_control_manager_v1"] {
            #expect(raw.globalName(hidden) == nil, "\(hidden) is shown under --virtual-input deny")
        }
        #expect(raw.globalName("wl_seat") != nil && raw.globalName("wl_data_device_manager") != nil)
        _ = raw.bind(name: name, interface: "zwp_virtual_keyboard_manager_v1", version: 1)
        #expect(!raw.roundtrip())
        #expect(raw.displayError == .init(objectID: 2, code: 0, message: "invalid global zwp_virtual_keyboard_manager_v1 (\(name))"),
                "\(String(describing: raw.displayError))")
        #expect(deny.log.contains("virtual input denied: ext_data_control_manager_v1, zwlr_data_control_manager_v1, zwlr_virtual_pointer_manager_v1, zwp_virtual_keyboard_manager_v1 are hidden from every client"), "\(deny.log)")
        if FileManager.default.fileExists(atPath: "/usr/bin/wtype") {
            let r = try deny.run("/usr/bin/wtype", ["x"], tag: "wtype")
            #expect(r.status != 0 && r.stderr.contains("virtual keyboard"), "\(r.stderr)")
        }
        let context = try ClientContext(displayName: socket, timeout: timeout)
        let keyboard = try Keyboard(registry: context.registry, timeout: timeout)
        #expect(keyboard.keymaps.count == 1)
    }
}

/// zwlr_virtual_pointer_v1: a pointer device while it exists; absolute motion over the output
/// and a click focus the window under it (its keyboard gets enter); bad axes are the spec's errors.
@Suite struct VirtualPointerTests {
    struct Raw {
        let client: RawWaylandClient
        let pointer: UInt32

        init(_ socket: String) throws {
            client = RawWaylandClient.registry(at: socket)
            let manager = client.bind(name: try #require(client.globalName("zwlr_virtual_pointer_manager_v1")),
                                      interface: "zwlr_virtual_pointer_manager_v1", version: 2)
            pointer = client.newID()
            client.send(RawWaylandClient.message(object: manager, opcode: 0, [0, pointer]))  // seat null: the default
        }

        func send(_ opcode: UInt16, _ words: [UInt32]) { client.send(RawWaylandClient.message(object: pointer, opcode: opcode, words)) }
    }

    @Test func aClickThroughAVirtualPointerFocusesTheWindowUnderIt() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let socket = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: socket, timeout: .seconds(30))
        let keyboard = try Keyboard(registry: context.registry, timeout: .seconds(30))
        let buffers = try BufferSet(shm: context.shm, width: 64, height: 64, count: 1)
        var windows: [Toplevel] = []
        for title in ["below", "above"] {  // placed at (32, 32) and (64, 64)
            let t = Toplevel(context: context, title: title, appID: "test")
            try t.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
            _ = t.present(buffers.buffers[0], requestFrame: false)
            try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the map")
            windows.append(t)
        }
        #expect(keyboard.focus == windows[1].surface.proxy, "the newest window is active")
        #expect(keyboard.capabilities == WL_SEAT_CAPABILITY_KEYBOARD.rawValue)

        let raw = try Raw(socket)
        // (40, 40) of the 320×240 output, given as 400/3200 and 400/2400: inside "below" only.
        raw.send(1, [0, 400, 400, 3200, 2400])
        raw.send(2, [0, 0x110, 1])
        raw.send(2, [0, 0x110, 0])
        raw.send(4, [])  // frame
        #expect(raw.client.roundtrip() && raw.client.displayError == nil)
        try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the focus")
        #expect(keyboard.capabilities == WL_SEAT_CAPABILITY_KEYBOARD.rawValue | WL_SEAT_CAPABILITY_POINTER.rawValue)
        #expect(keyboard.focus == windows[0].surface.proxy, "the click did not focus the window under it")
    }

    @Test(arguments: [(opcode: UInt16(3), words: [UInt32(0), 7, 256], code: UInt32(0)), (opcode: UInt16(5), words: [UInt32(9)], code: UInt32(1))])
    func badAxesAreTheSpecsErrors(_ bad: (opcode: UInt16, words: [UInt32], code: UInt32)) throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)")
        raw.send(bad.opcode, bad.words)
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.pointer && raw.client.displayError?.code == bad.code, "\(String(describing: raw.client.displayError))")
    }
}

/// xdg_activation_v1: a token made with a recent input serial activates another window (the
/// keyboard focus follows); one without, or used twice, activates nothing.
@Suite struct XdgActivationTests {
    @Test func aTokenWithAnInputSerialActivatesOnceAndOthersNever() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: .seconds(30))
        let keyboard = try Keyboard(registry: context.registry, timeout: .seconds(30))
        let activation = try XdgActivation(registry: context.registry)
        let buffers = try BufferSet(shm: context.shm, width: 32, height: 32, count: 1)
        var windows: [Toplevel] = []
        for title in ["first", "second"] {
            let t = Toplevel(context: context, title: title, appID: "test")
            try t.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
            _ = t.present(buffers.buffers[0], requestFrame: false)
            try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the map")
            windows.append(t)
        }
        #expect(keyboard.focus == windows[1].surface.proxy)

        let withoutInput = try activation.token(serial: nil, seat: keyboard)
        let invented = try activation.token(serial: keyboard.enterSerial &+ 1000, seat: keyboard)
        #expect(!withoutInput.isEmpty && withoutInput != invented)
        for token in [withoutInput, invented, "never-issued"] {
            activation.activate(token: token, surface: windows[0].surface)
            try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the activation")
            #expect(keyboard.focus == windows[1].surface.proxy, "\(token) activated a window")
        }
        let granted = try activation.token(serial: keyboard.enterSerial, seat: keyboard)
        activation.activate(token: granted, surface: windows[0].surface)
        try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the activation")
        #expect(keyboard.focus == windows[0].surface.proxy, "a token with the enter serial did not activate")
        // Used up: it cannot bring the other window back.
        activation.activate(token: granted, surface: windows[1].surface)
        try context.connection.roundtrip(timeout: .seconds(30)).orThrow(waitingFor: "the activation")
        #expect(keyboard.focus == windows[0].surface.proxy)
        #expect(c.isRunning)
    }
}
