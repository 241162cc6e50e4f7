import CWayland
import Glibc

/// The seat's `wl_keyboard` as a client sees it: the keymaps it was sent (read back from their
/// fds, with the file's seals and access mode), repeat info, focus, keys and modifiers (use it
/// from the connection's thread).
public final class Keyboard: EventReceiver {
    let seat: OpaquePointer
    /// nil when the seat has no keyboard capability.
    private(set) var keyboard: OpaquePointer?
    public private(set) var capabilities: UInt32 = 0

    /// One `keymap` event.
    public struct Keymap {
        public let format: UInt32
        public let size: UInt32
        /// The text (up to its NUL), read from the fd with MAP_PRIVATE as the spec asks of v7 clients.
        public let text: String
        /// F_GET_SEALS of the file (-1: none).
        public let seals: Int32
        /// Whether the fd was opened read-only.
        public let readOnly: Bool
        /// Whether a MAP_SHARED read-write mapping of it failed (a sealed, read-only file refuses one).
        public let sharedWritableMappingRefused: Bool
    }

    public private(set) var keymaps: [Keymap] = []
    public private(set) var repeatInfo: (rate: Int32, delay: Int32)?
    /// The wl_surface focused (enter without a leave since), and the keys `enter` carried.
    public private(set) var focus: OpaquePointer?
    public private(set) var enterKeys: [UInt32] = []
    /// The serial of the last `enter` (an input serial: xdg_activation and selections name it).
    public private(set) var enterSerial: UInt32 = 0
    /// Every key event: evdev code and state (1 pressed, 0 released).
    public private(set) var keys: [(key: UInt32, state: UInt32)] = []
    public private(set) var modifiers: (depressed: UInt32, latched: UInt32, locked: UInt32, group: UInt32)?
    public private(set) var modifiersEvents = 0

    /// Binds wl_seat (at most v7), waits for its capabilities, and gets its keyboard if it has one
    /// (another roundtrip brings the keymap, repeat info and any enter).
    public init(registry: Registry, timeout: Duration? = nil) throws {
        seat = try registry.bind("wl_seat", table: cw_wl_seat_interface(), maxVersion: 7).proxy
        routeEvents(of: seat, to: self)
        try registry.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "wl_seat.capabilities")
        guard capabilities & WL_SEAT_CAPABILITY_KEYBOARD.rawValue != 0 else { return }
        guard let k = wl_seat_get_keyboard(seat) else { return }
        keyboard = k
        routeEvents(of: k, to: self)
        try registry.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "wl_keyboard.keymap")
    }

    deinit {
        if let keyboard { wl_keyboard_destroy(keyboard) }
        wl_seat_destroy(seat)
    }

    /// The text of the last keymap, if any.
    public var keymapText: String? { keymaps.last?.text }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if proxy == seat {
            if opcode == 0 { capabilities = arguments.uint(0) }
            return
        }
        switch opcode {
        case 0: keymap(format: arguments.uint(0), fd: arguments.fd(1), size: arguments.uint(2))
        case 1:
            enterSerial = arguments.uint(0)
            focus = arguments.object(1)
            let bytes = arguments.array(2)
            enterKeys = bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }  // host order, as sent
        case 2: focus = nil
        case 3: keys.append((arguments.uint(2), arguments.uint(3)))
        case 4:
            modifiers = (arguments.uint(1), arguments.uint(2), arguments.uint(3), arguments.uint(4))
            modifiersEvents += 1
        case 5: repeatInfo = (arguments.int(0), arguments.int(1))
        default: break
        }
    }

    private func keymap(format: UInt32, fd: Int32, size: UInt32) {
        defer { if fd >= 0 { close(fd) } }
        let seals = fcntl(fd, Int32(CW_F_GET_SEALS))
        let readOnly = fcntl(fd, F_GETFL) & O_ACCMODE == O_RDONLY
        var refused = true
        if size > 0, let m = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), m != MAP_FAILED {
            refused = false
            munmap(m, Int(size))
        }
        var text = ""
        if size > 0, let m = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED {
            let bytes = UnsafeRawBufferPointer(start: m, count: Int(size))
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            text = String(decoding: bytes[..<end], as: UTF8.self)
            munmap(m, Int(size))
        }
        keymaps.append(Keymap(format: format, size: size, text: text, seals: seals, readOnly: readOnly, sharedWritableMappingRefused: refused))
    }
}
