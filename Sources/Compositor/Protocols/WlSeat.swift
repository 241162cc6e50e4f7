import CWayland
import Glibc

/// `wl_seat`: the seat's name and capabilities, and the factory for its device objects.
final class WlSeat: ResourceHandler {
    static let version: UInt32 = 7
    private unowned let server: Server
    private let resource: OpaquePointer

    init(server: Server, resource: OpaquePointer) {
        self.server = server
        self.resource = resource
    }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        let created = Resources.create(client: client, interface: cw_wl_seat_interface(), version: version, id: id) { r in
            WlSeat(server: server, resource: r)
        }
        guard let r = created else { return }
        server.seat.seatResources.append(r)
        wl_seat_send_capabilities(r, server.seat.capabilities)
        if version >= 2 { wl_seat_send_name(r, server.seat.name) }
    }

    func handle(_ request: Request) {
        let seat: Seat = server.seat
        switch Int32(request.opcode) {
        case WL_SEAT_GET_POINTER:
            guard has(WL_SEAT_CAPABILITY_POINTER, "get_pointer", request) else { return }
            var pointer: WlPointer?
            Resources.create(client: request.client, interface: cw_wl_pointer_interface(), version: request.version, id: request.newID(0)) { r in
                pointer = WlPointer(server: server, resource: r)
                return pointer!
            }
            if let pointer {
                seat.pointers.append(pointer)
                seat.pointerCreated(pointer)
            }
        case WL_SEAT_GET_KEYBOARD:
            guard has(WL_SEAT_CAPABILITY_KEYBOARD, "get_keyboard", request) else { return }
            var keyboard: WlKeyboard?
            Resources.create(client: request.client, interface: cw_wl_keyboard_interface(), version: request.version, id: request.newID(0)) { r in
                keyboard = WlKeyboard(server: server, resource: r)
                return keyboard!
            }
            if let keyboard {
                seat.keyboards.append(keyboard)
                seat.keyboardCreated(keyboard)
            }
        case WL_SEAT_GET_TOUCH:
            guard has(WL_SEAT_CAPABILITY_TOUCH, "get_touch", request) else { return }
            Resources.create(client: request.client, interface: cw_wl_touch_interface(), version: request.version, id: request.newID(0)) { r in
                let touch = WlTouch(server: server, resource: r)
                seat.touches.append(touch)
                return touch
            }
        case WL_SEAT_RELEASE:
            wl_resource_destroy(request.resource)
        default: break
        }
    }

    /// wl_seat: "It is a protocol violation to issue this request on a seat that has never had
    /// the [pointer/keyboard/touch] capability" (missing_capability).
    private func has(_ capability: wl_seat_capability, _ name: String, _ request: Request) -> Bool {
        if server.seat.everHad & capability.rawValue != 0 { return true }
        server.postError(request.resource, code: WL_SEAT_ERROR_MISSING_CAPABILITY.rawValue,
                         "\(name) on a seat that never had that capability (capabilities: \(server.seat.capabilities))")
        return false
    }

    func resourceDestroyed() {
        server.seat.seatResources.removeAll { $0 == resource }
    }
}

/// `wl_pointer`: events come from the seat; the client may only set a cursor image.
final class WlPointer: ResourceHandler {
    private unowned let server: Server
    let resource: OpaquePointer
    let client: OpaquePointer
    /// The serial of the last enter sent here (set_cursor must name it).
    var enterSerial: UInt32 = 0

    init(server: Server, resource: OpaquePointer) {
        self.server = server
        self.resource = resource
        client = wl_resource_get_client(resource)
    }

    func sendFrame() {
        if wl_resource_get_version(resource) >= 5 { wl_pointer_send_frame(resource) }
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WL_POINTER_SET_CURSOR:
            // The cursor surface gets its role (so misuse is caught) but is not drawn: a headless
            // output has no cursor to show, and screenshots should show client content only.
            guard let surface = request.object(1).flatMap({ Resources.object($0, as: WlSurface.self)?.surface }) else { return }
            if !surface.assignRole("wl_pointer-cursor") {
                server.postError(request.resource, code: WL_POINTER_ERROR_ROLE.rawValue,
                                 "wl_surface@\(surface.id) already has the role \(surface.roleName ?? "?")")
            }
        case WL_POINTER_RELEASE:
            wl_resource_destroy(request.resource)
        default: break
        }
    }

    func resourceDestroyed() {
        server.seat.pointers.removeAll { $0 === self }
    }
}

/// `wl_touch`: events come from the seat.
final class WlTouch: ResourceHandler {
    private unowned let server: Server
    let resource: OpaquePointer
    let client: OpaquePointer

    init(server: Server, resource: OpaquePointer) {
        self.server = server
        self.resource = resource
        client = wl_resource_get_client(resource)
    }

    func handle(_ request: Request) {
        if Int32(request.opcode) == WL_TOUCH_RELEASE { wl_resource_destroy(request.resource) }
    }

    func resourceDestroyed() {
        server.seat.touches.removeAll { $0 === self }
    }
}

/// `wl_keyboard`: the focus follows the active window; no key events yet (the embedder's
/// keyboard has no keys to press), so the keymap is `no_keymap`.
final class WlKeyboard: ResourceHandler {
    private unowned let server: Server
    let resource: OpaquePointer
    let client: OpaquePointer

    init(server: Server, resource: OpaquePointer) {
        self.server = server
        self.resource = resource
        client = wl_resource_get_client(resource)
        // no_keymap still carries an fd (the client closes it): an empty file.
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            wl_keyboard_send_keymap(resource, WL_KEYBOARD_KEYMAP_FORMAT_NO_KEYMAP.rawValue, fd, 0)
            close(fd)
        }
        if wl_resource_get_version(resource) >= 4 { wl_keyboard_send_repeat_info(resource, 0, 0) }  // no repeat
    }

    func handle(_ request: Request) {
        if Int32(request.opcode) == WL_KEYBOARD_RELEASE { wl_resource_destroy(request.resource) }
    }

    func resourceDestroyed() {
        server.seat.keyboards.removeAll { $0 === self }
    }
}
