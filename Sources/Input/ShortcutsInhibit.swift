import CWayland
import Protocols
import SceneGraph
import WaylandCore

/// `zwp_keyboard_shortcuts_inhibit_manager_v1`: a client (a remote desktop viewer, a VM window)
/// asks that the compositor's own shortcuts pass to it. compositord has no shortcuts of its own,
/// so every request is granted: the inhibitor is `active` while its surface has keyboard focus
/// and `inactive` when the focus leaves.
package final class ShortcutsInhibitManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: SeatState

    init(state: SeatState) { self.state = state }

    package static func bind(_ state: SeatState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwp_keyboard_shortcuts_inhibit_manager_v1_interface(), version: version, id: id) { _ in
            ShortcutsInhibitManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwpKeyboardShortcutsInhibitManagerV1Request(request) {
        case let .inhibitShortcuts(id, surfaceResource, _)?:  // one seat: seat0
            guard let surface = Resources.object(surfaceResource, as: WlSurface.self)?.surface else { return }
            let keyboard = state.seat.keyboard
            if keyboard.shortcutsInhibitors.contains(where: { $0.surface === surface }) {
                return state.context.post(ZwpKeyboardShortcutsInhibitManagerV1Error.alreadyInhibited, on: request.resource,
                                          "wl_surface@\(wl_resource_get_id(surfaceResource)) already inhibits shortcuts on this seat: destroy that inhibitor first")
            }
            guard let r = Resources.create(client: request.client, interface: cw_zwp_keyboard_shortcuts_inhibitor_v1_interface(),
                                           version: request.version, id: id,
                                           handler: { r in ShortcutsInhibitor(resource: r, surface: surface, keyboard: keyboard) }),
                  let inhibitor = Resources.handler(of: r) as? ShortcutsInhibitor else { return }
            keyboard.shortcutsInhibitors.append(inhibitor)
            inhibitor.focusChanged(to: keyboard.focus)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zwp_keyboard_shortcuts_inhibitor_v1`: `active` while its surface has keyboard focus.
package final class ShortcutsInhibitor: ResourceHandler {
    private var resource: OpaquePointer?
    private(set) weak var surface: Surface?
    private unowned let keyboard: SeatKeyboard
    private var active = false

    init(resource: OpaquePointer, surface: Surface, keyboard: SeatKeyboard) {
        self.resource = resource
        self.surface = surface
        self.keyboard = keyboard
    }

    /// Keyboard focus moved to `focus`: `active` or `inactive` when that changes this inhibitor.
    func focusChanged(to focus: Surface?) {
        let now = focus != nil && focus === surface
        guard now != active, let resource else { return }
        active = now
        if now { zwp_keyboard_shortcuts_inhibitor_v1_send_active(resource) } else { zwp_keyboard_shortcuts_inhibitor_v1_send_inactive(resource) }
    }

    package func handle(_ request: Request) {
        if case .destroy? = ZwpKeyboardShortcutsInhibitorV1Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        resource = nil
        keyboard.shortcutsInhibitors.removeAll { $0 === self }
    }
}
