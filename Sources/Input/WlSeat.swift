import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Protocols
import WaylandCore
import Syscalls

/// The seat family's state (wl_seat, wl_pointer, wl_keyboard, wl_touch): the context and the
/// seat that delivers input to them.
package final class SeatState {
    package unowned let context: ProtocolContext
    package unowned let seat: Seat

    package init(context: ProtocolContext, seat: Seat) {
        self.context = context
        self.seat = seat
    }
}
import Glibc

/// `wl_seat`: the seat's name and capabilities, and the factory for its device objects.
package final class WlSeat: ResourceHandler {
    package static let version: UInt32 = 7
    private let state: SeatState
    private let resource: OpaquePointer

    package init(state: SeatState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package static func bind(_ state: SeatState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        let created = Resources.create(client: client, interface: cw_wl_seat_interface(), version: version, id: id) { r in
            WlSeat(state: state, resource: r)
        }
        guard let r = created else { return }
        state.seat.seatResources.append(r)
        wl_seat_send_capabilities(r, state.seat.capabilities)
        if version >= 2 { wl_seat_send_name(r, state.seat.name) }
    }

    package func handle(_ request: Request) {
        let seat: Seat = state.seat
        switch WlSeatRequest(request) {
        case let .getPointer(id)?:
            guard has(WL_SEAT_CAPABILITY_POINTER, "get_pointer", request) else { return }
            var pointer: WlPointer?
            Resources.create(client: request.client, interface: cw_wl_pointer_interface(), version: request.version, id: id) { r in
                pointer = WlPointer(state: state, resource: r)
                return pointer!
            }
            if let pointer {
                seat.pointer.created(pointer)
            }
        case let .getKeyboard(id)?:
            guard has(WL_SEAT_CAPABILITY_KEYBOARD, "get_keyboard", request) else { return }
            var keyboard: WlKeyboard?
            Resources.create(client: request.client, interface: cw_wl_keyboard_interface(), version: request.version, id: id) { r in
                keyboard = WlKeyboard(state: state, resource: r)
                return keyboard!
            }
            if let keyboard {
                seat.keyboard.created(keyboard)
            }
        case let .getTouch(id)?:
            guard has(WL_SEAT_CAPABILITY_TOUCH, "get_touch", request) else { return }
            Resources.create(client: request.client, interface: cw_wl_touch_interface(), version: request.version, id: id) { r in
                let touch = WlTouch(state: state, resource: r)
                seat.touch.touches.append(touch)
                return touch
            }
        case .release?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    /// wl_seat: "It is a protocol violation to issue this request on a seat that has never had
    /// the [pointer/keyboard/touch] capability" (missing_capability).
    private func has(_ capability: wl_seat_capability, _ name: String, _ request: Request) -> Bool {
        if state.seat.everHad & capability.rawValue != 0 { return true }
        state.context.post(WlSeatError.missingCapability, on: request.resource,
                         "\(name) on a seat that never had that capability (capabilities: \(state.seat.capabilities))")
        return false
    }

    package func resourceDestroyed() {
        state.seat.seatResources.removeAll { $0 == resource }
    }
}

/// `wl_pointer`: events come from the seat; the client may only set a cursor image.
package final class WlPointer: ResourceHandler {
    private let state: SeatState
    package let resource: OpaquePointer
    package let client: OpaquePointer
    /// The serial of the last enter sent here (set_cursor must name it).
    package var enterSerial: UInt32 = 0

    package init(state: SeatState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
        client = wl_resource_get_client(resource)
    }

    package func sendFrame() {
        if wl_resource_get_version(resource) >= 5 { wl_pointer_send_frame(resource) }
    }

    package func handle(_ request: Request) {
        switch WlPointerRequest(request) {
        case let .setCursor(_, surfaceResource, _, _)?:
            // The cursor surface gets its role (so misuse is caught) but is not drawn: a headless
            // output has no cursor to show, and screenshots should show client content only.
            guard let surface = surfaceResource.flatMap({ Resources.object($0, as: WlSurface.self)?.surface }) else { return }
            if !surface.assignRole("wl_pointer-cursor") {
                state.context.post(WlPointerError.role, on: request.resource,
                                 "wl_surface@\(surface.id) already has the role \(surface.roleName ?? "?")")
            }
        case .release?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func resourceDestroyed() {
        state.seat.pointer.pointers.removeAll { $0 === self }
    }
}

/// `wl_touch`: events come from the seat.
package final class WlTouch: ResourceHandler {
    private let state: SeatState
    package let resource: OpaquePointer
    package let client: OpaquePointer

    package init(state: SeatState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
        client = wl_resource_get_client(resource)
    }

    package func handle(_ request: Request) {
        if case .release? = WlTouchRequest(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        state.seat.touch.touches.removeAll { $0 === self }
    }
}

/// `wl_keyboard`: events come from the seat's keyboard (`SeatKeyboard`), which sends each one
/// the keymap of the device whose keys it is about to deliver.
package final class WlKeyboard: ResourceHandler {
    private let state: SeatState
    package let resource: OpaquePointer
    package let client: OpaquePointer
    /// The keymap last sent here (held, so that a new keymap can never reuse its identity).
    private var sentKeymap: Keymap?

    package init(state: SeatState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
        client = wl_resource_get_client(resource)
    }

    /// Sends `keymap` unless it was the last one sent; returns whether it sent it.
    @discardableResult
    package func ensureKeymap(_ keymap: Keymap) -> Bool {
        guard sentKeymap !== keymap else { return false }
        sentKeymap = keymap
        wl_keyboard_send_keymap(resource, WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1.rawValue, keymap.fd, keymap.size)
        return true
    }

    package func handle(_ request: Request) {
        if case .release? = WlKeyboardRequest(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        state.seat.keyboard.keyboards.removeAll { $0 === self }
    }
}
