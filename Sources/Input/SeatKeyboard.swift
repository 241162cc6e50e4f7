import CWayland
import SceneGraph
import Buffers
import SurfaceModel
import Protocols
import WaylandCore

/// The seat's keyboard: its clients' wl_keyboard objects and the focus, which the shell sets
/// (the topmost grabbing popup, else the active window).
package final class SeatKeyboard {
    private let seat: SeatContext
    package var keyboards: [WlKeyboard] = []
    /// Strong (a weak reference would give every focused surface a side table: slow retains on
    /// each commit); `surfaceDestroyed` clears it.
    package private(set) var focus: Surface?

    package init(context: SeatContext) { seat = context }

    /// Moves keyboard focus to `target`: leave to the old surface's client, enter (no keys held)
    /// and modifiers (none) to the new one's.
    package func setFocus(_ target: Surface?) {
        guard target !== focus else { return }
        if let old = focus, let r = old.resource, let c = SeatContext.client(of: old) {
            let serial = seat.nextSerial()
            for k in keyboards where k.client == c { wl_keyboard_send_leave(k.resource, serial, r) }
        }
        focus = target
        guard let t = target, let c = SeatContext.client(of: t) else { return }
        for k in keyboards where k.client == c { sendEnter(k, t) }
    }

    private func sendEnter(_ keyboard: WlKeyboard, _ surface: Surface) {
        guard let r = surface.resource else { return }
        let serial = seat.inputSerial(for: keyboard.client)  // focus serials may name a selection
        var keys = wl_array()
        wl_array_init(&keys)
        wl_keyboard_send_enter(keyboard.resource, serial, r, &keys)
        wl_array_release(&keys)
        wl_keyboard_send_modifiers(keyboard.resource, seat.nextSerial(), 0, 0, 0, 0)
    }

    /// A wl_keyboard was created: its client's focused surface, if any, is entered now.
    package func created(_ keyboard: WlKeyboard) {
        keyboards.append(keyboard)
        guard let s = focus, SeatContext.client(of: s) == keyboard.client else { return }
        sendEnter(keyboard, s)
    }

    package func surfaceDestroyed(_ surface: Surface) {
        if focus === surface { focus = nil }
    }
}
