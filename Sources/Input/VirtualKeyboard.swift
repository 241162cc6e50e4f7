import Buffers
import CWayland
import Glibc
import Protocols
import Syscalls
import WaylandCore

/// zwp_virtual_keyboard_manager_v1's family state: the context, and the seat whose keyboard
/// delivers what virtual keyboards type.
package final class VirtualKeyboardState {
    package unowned let context: ProtocolContext
    package unowned let seat: Seat

    package init(context: ProtocolContext, seat: Seat) {
        self.context = context
        self.seat = seat
    }
}

/// `zwp_virtual_keyboard_manager_v1`: makes virtual keyboards on the one seat. Trust is decided
/// by who can see the global at all (`--virtual-input`), not here.
package final class VirtualKeyboardManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: VirtualKeyboardState

    private init(state: VirtualKeyboardState) { self.state = state }

    package static func bind(_ state: VirtualKeyboardState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwp_virtual_keyboard_manager_v1_interface(), version: version, id: id) { _ in
            VirtualKeyboardManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwpVirtualKeyboardManagerV1Request(request) {
        case let .createVirtualKeyboard(_, id)?:  // there is one seat: libwayland checked it is a wl_seat
            Resources.create(client: request.client, interface: cw_zwp_virtual_keyboard_v1_interface(), version: request.version, id: id) { _ in
                VirtualKeyboard(state: state)
            }
        case nil: break
        }
    }
}

/// `zwp_virtual_keyboard_v1`: a keyboard device whose keymap, keys and modifiers come from its
/// client. Its keys go to the focused client with its keymap (the seat sends that keymap first,
/// as wlroots does when a device's keys arrive).
///
/// The keymap is read with pread (never mapped: a file that shrinks cannot fault us) from shared
/// memory or a local disk file only (a FUSE or network file could stall the read), capped at
/// `maxKeymapSize`, compiled by libxkbcommon and re-serialized into compositord's own sealed
/// file. Anything else is `invalid_keymap_format`; a key or modifiers before a keymap is
/// `no_keymap`.
package final class VirtualKeyboard: ResourceHandler {
    /// A full keymap is 64 KiB (us, compiled in 1.3 ms here) to 77 KiB (us,ru,de,fr): 1 MiB
    /// bounds one keymap request to some 20 ms of other clients' time (docs/input.md).
    package static let maxKeymapSize: UInt32 = 1 << 20
    private let state: VirtualKeyboardState
    /// The device, once a keymap was accepted.
    private var device: KeyboardState?
    /// The text last compiled: wtype sends its whole keymap again for every new character, and
    /// an identical one is not compiled twice.
    private var lastKeymapText: [UInt8] = []

    init(state: VirtualKeyboardState) { self.state = state }

    package func handle(_ request: Request) {
        switch ZwpVirtualKeyboardV1Request(request) {
        case let .keymap(format, fd, size)?:
            defer { ReceivedFd.close(fd) }
            keymap(request, format: format, fd: fd, size: size)
        case let .key(time, key, keyState)?:
            guard let device = requireKeymap(request, "key") else { return }
            // wl_keyboard.key_state: released 0, pressed 1 (repeated, v10, is the client's to make).
            guard keyState <= 1 else { return }
            state.seat.keyboard.key(device, code: key, pressed: keyState == 1, time: time)
        case let .modifiers(depressed, latched, locked, group)?:
            guard let device = requireKeymap(request, "modifiers") else { return }
            state.seat.keyboard.modifiers(device, depressed: depressed, latched: latched, locked: locked, group: group)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    private func requireKeymap(_ request: Request, _ name: String) -> KeyboardState? {
        if let device { return device }
        state.context.post(ZwpVirtualKeyboardV1Error.noKeymap, on: request.resource,
                           "\(name) before a keymap: send zwp_virtual_keyboard_v1.keymap (xkb_v1) first")
        return nil
    }

    private func keymap(_ request: Request, format: UInt32, fd: Int32, size: UInt32) {
        guard format == WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1.rawValue else {
            return state.context.post(ZwpVirtualKeyboardV1Error.invalidKeymapFormat, on: request.resource,
                                      "keymap format \(format): only xkb_v1 (1) is supported")
        }
        let bytes: [UInt8]
        switch Self.read(fd: fd, size: size) {
        case let .success(b): bytes = b
        case let .failure(why):
            return state.context.post(ZwpVirtualKeyboardV1Error.invalidKeymapFormat, on: request.resource, why.message)
        }
        if bytes == lastKeymapText, device != nil { return }
        let keymap: Keymap
        do { keymap = try Keymap.compile(text: bytes) } catch {
            return state.context.post(ZwpVirtualKeyboardV1Error.invalidKeymapFormat, on: request.resource, "keymap rejected: \(error)")
        }
        guard let next = KeyboardState(keymap: keymap) else {
            return state.context.post(ZwpVirtualKeyboardV1Error.invalidKeymapFormat, on: request.resource, "xkb_state_new failed for this keymap")
        }
        // The old device's held keys are released before its keymap goes (their codes may mean
        // something else in the new one).
        if let device { state.seat.keyboard.deviceRemoved(device) }
        device = next
        lastKeymapText = bytes
    }

    package struct ReadFailure: Error { package let message: String }

    /// The keymap's `size` bytes from `fd`, or why they cannot be used.
    package static func read(fd: Int32, size: UInt32) -> Result<[UInt8], ReadFailure> {
        guard size > 0 else { return .failure(ReadFailure(message: "keymap size 0: send the keymap's size in bytes")) }
        guard size <= maxKeymapSize else {
            return .failure(ReadFailure(message: "keymap size \(size) exceeds \(maxKeymapSize) bytes: send a compiled keymap (xkbcomp -xkb)"))
        }
        let file = PoolFile.classify(fd: fd)
        switch file.kind {
        case .notRegularFile, .regularFile:
            return .failure(ReadFailure(message: "keymap fd is a \(file.typeName): send a memfd or a file in /tmp or /dev/shm"))
        default: break
        }
        guard file.size >= Int(size) else {
            return .failure(ReadFailure(message: "keymap size \(size) but the file has \(file.size) bytes: send the file's size"))
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < bytes.count {
            var failure: String?
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                do { return try Syscall.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: off_t(done)) } catch {
                    failure = "\(error)"
                    return -1
                }
            }
            if let failure { return .failure(ReadFailure(message: "keymap fd cannot be read (\(failure)): send a readable memfd")) }
            guard n > 0 else { return .failure(ReadFailure(message: "keymap file shrank under compositord: keep it \(size) bytes")) }
            done += n
        }
        return .success(bytes)
    }

    package func resourceDestroyed() {
        if let device { state.seat.keyboard.deviceRemoved(device) }
    }
}
