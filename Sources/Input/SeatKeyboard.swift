import CWayland
import SceneGraph
import Buffers
import SurfaceModel
import Protocols
import WaylandCore

/// The seat's keyboard: its clients' wl_keyboard objects, the focus, which the shell sets (the
/// topmost grabbing popup, else the active window), and the keyboard devices' keys.
///
/// As in wlroots' seat, one device at a time is the seat's *active* keyboard: the one whose keys
/// arrived last. Its keymap is what clients are sent (each wl_keyboard gets a keymap event
/// whenever the active device's keymap differs from the last one it was sent, before the next
/// key, modifiers or enter), its held keys and modifiers are what `enter` carries.
package final class SeatKeyboard {
    private let seat: SeatContext
    package var keyboards: [WlKeyboard] = []
    /// Strong (a weak reference would give every focused surface a side table: slow retains on
    /// each commit); `surfaceDestroyed` clears it.
    package private(set) var focus: Surface?
    /// The seat's own keyboard (the configured layout): always there, so clients can rely on
    /// a keyboard existing.
    package let builtIn: KeyboardState
    /// The device whose keymap and state clients see.
    package private(set) var active: KeyboardState
    /// wl_keyboard.repeat_info: characters per second and delay in milliseconds (sway's and
    /// weston's defaults). Repeating is the client's job.
    package var repeatRate: Int32 = 25
    package var repeatDelay: Int32 = 600
    /// Called when the focus moves to another client's surface (or to none): the selection is
    /// offered to the client that may now paste.
    package var onFocusClientChanged: (OpaquePointer?) -> Void = { _ in }
    /// zwp_keyboard_shortcuts_inhibitor_v1 objects: told when the focus moves.
    package var shortcutsInhibitors: [ShortcutsInhibitor] = []

    package init(context: SeatContext, builtIn: KeyboardState) {
        seat = context
        self.builtIn = builtIn
        active = builtIn
    }

    /// Moves keyboard focus to `target`: leave to the old surface's client, enter (with the
    /// keys the active device holds) and its modifiers to the new one's.
    package func setFocus(_ target: Surface?) {
        guard target !== focus else { return }
        let oldClient = focus.flatMap { SeatContext.client(of: $0) }
        defer {
            let newClient = focus.flatMap { SeatContext.client(of: $0) }
            if newClient != oldClient { onFocusClientChanged(newClient) }
            for inhibitor in shortcutsInhibitors { inhibitor.focusChanged(to: focus) }
        }
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
        keyboard.ensureKeymap(active.keymap)
        let serial = seat.inputSerial(for: keyboard.client)  // focus serials may name a selection
        var keys = wl_array()
        wl_array_init(&keys)
        for code in active.pressed {
            guard let slot = wl_array_add(&keys, 4) else { break }
            slot.storeBytes(of: code, as: UInt32.self)
        }
        wl_keyboard_send_enter(keyboard.resource, serial, r, &keys)
        wl_array_release(&keys)
        sendModifiers(keyboard, serial: seat.nextSerial())
    }

    private func sendModifiers(_ keyboard: WlKeyboard, serial: UInt32) {
        let m = active.modifiers
        wl_keyboard_send_modifiers(keyboard.resource, serial, m.depressed, m.latched, m.locked, m.group)
    }

    /// A wl_keyboard was created: it gets the active keymap and the repeat info, and its client's
    /// focused surface, if any, is entered now.
    package func created(_ keyboard: WlKeyboard) {
        keyboards.append(keyboard)
        keyboard.ensureKeymap(active.keymap)
        if wl_resource_get_version(keyboard.resource) >= 4 {
            wl_keyboard_send_repeat_info(keyboard.resource, repeatRate, repeatDelay)
        }
        guard let s = focus, SeatContext.client(of: s) == keyboard.client else { return }
        sendEnter(keyboard, s)
    }

    /// The focused client's keyboards, after making `device` the active one (its keymap sent
    /// where it is not the last one sent).
    private func focusedKeyboards(activating device: KeyboardState) -> (keyboards: [WlKeyboard], client: OpaquePointer, keymapSent: Bool)? {
        active = device
        guard let s = focus, s.resource != nil, let c = SeatContext.client(of: s) else { return nil }
        let targets = keyboards.filter { $0.client == c }
        var sent = false
        for k in targets where k.ensureKeymap(device.keymap) { sent = true }
        return (targets, c, sent)
    }

    /// A key of `device` went down or up (`code`: Linux evdev; `time`: milliseconds): the
    /// focused client gets `key`, then `modifiers` when they changed.
    package func key(_ device: KeyboardState, code: UInt32, pressed: Bool, time: UInt32) {
        let modifiersChanged = device.key(code, pressed: pressed)
        guard let (targets, client, keymapSent) = focusedKeyboards(activating: device), !targets.isEmpty else { return }
        // A press is user input: its serial may name a selection (wl-copy) or a popup grab.
        let serial = pressed ? seat.inputSerial(for: client) : seat.nextSerial()
        let state = pressed ? WL_KEYBOARD_KEY_STATE_PRESSED : WL_KEYBOARD_KEY_STATE_RELEASED
        for k in targets { wl_keyboard_send_key(k.resource, serial, time, code, state.rawValue) }
        // A new keymap gives the modifier bits new meanings: its state follows it.
        guard modifiersChanged || keymapSent else { return }
        let modifiersSerial = seat.nextSerial()
        for k in targets { sendModifiers(k, serial: modifiersSerial) }
    }

    /// `device`'s modifiers and group were set as a whole: the focused client gets `modifiers`
    /// when they changed (or when the device's keymap was new to it).
    package func modifiers(_ device: KeyboardState, depressed: UInt32, latched: UInt32, locked: UInt32, group: UInt32) {
        let changed = device.setModifiers(depressed: depressed, latched: latched, locked: locked, group: group)
        let switched = active !== device
        guard changed || switched, let (targets, _, _) = focusedKeyboards(activating: device) else { return }
        let serial = seat.nextSerial()
        for k in targets { sendModifiers(k, serial: serial) }
    }

    /// A keyboard device goes: the keys it holds are released to the focused client (as wlroots
    /// does), and the seat's own keyboard is active again.
    package func deviceRemoved(_ device: KeyboardState) {
        let time = SeatContext.now
        for code in device.pressed { key(device, code: code, pressed: false, time: time) }
        if active === device { active = builtIn }
    }

    package func surfaceDestroyed(_ surface: Surface) {
        if focus === surface { focus = nil }
    }
}
