import Buffers
import SurfaceModel
import CWayland
import Glibc

/// The one seat ("seat0"): which input capabilities exist, and who has pointer and touch focus.
///
/// compositord has no input hardware: devices are virtual (added by an embedder such as the wlcs
/// module), so a plain `compositord --headless` seat has no capabilities, which clients are told.
/// Focus follows the scene: after anything moves, maps or unmaps, the pointer focus is re-picked.
final class Seat {
    unowned let server: Server
    let name = "seat0"
    /// Bound wl_seat resources, and the device resources clients got from them.
    var seatResources: [OpaquePointer] = []
    var pointers: [WlPointer] = []
    var touches: [WlTouch] = []

    private var pointerDevices = Set<Int>(), touchDevices = Set<Int>()
    private var nextDevice = 1
    /// Every capability the seat ever had (wl_seat: getting a device it never had is an error).
    private(set) var everHad: UInt32 = 0

    // Pointer state: position in output space, focus, pressed buttons (an implicit grab).
    private(set) var cursorX = 0.0, cursorY = 0.0
    /// Focus and touch points hold surfaces strongly (a weak reference would give every focused
    /// surface a side table: slow retains on each commit); `surfaceDestroyed` clears them.
    private var pointerFocus: Surface?
    private var pointerLocal: (x: Double, y: Double)?
    private var buttons = Set<UInt32>()
    /// An interactive move started by xdg_toplevel.move: the window follows the pointer.
    private var moveGrab: (toplevel: XdgToplevel, dx: Double, dy: Double)?
    /// An interactive resize started by xdg_toplevel.resize: the dragged edges follow the pointer.
    private var resizeGrab: (toplevel: XdgToplevel, edges: UInt32, start: Rect, x0: Double, y0: Double)?
    /// Whether a move or resize owns the pointer (the window under it gets no events meanwhile).
    private var isGrabbing: Bool { moveGrab != nil || resizeGrab != nil }

    // Touch points by id, each bound to the surface it went down on.
    private struct TouchPoint {
        let surface: Surface
        let client: OpaquePointer
    }
    private var touchPoints: [Int32: TouchPoint] = [:]

    /// Serials of recent button presses and touch downs per client (for grabs and selections).
    private var inputSerials: [OpaquePointer: [UInt32]] = [:]

    init(server: Server) { self.server = server }

    var capabilities: UInt32 {
        (pointerDevices.isEmpty ? 0 : WL_SEAT_CAPABILITY_POINTER.rawValue)
            | (touchDevices.isEmpty ? 0 : WL_SEAT_CAPABILITY_TOUCH.rawValue)
            | (keyboardDevices.isEmpty ? 0 : WL_SEAT_CAPABILITY_KEYBOARD.rawValue)
    }

    // Keyboard: devices, bound wl_keyboards, and the focus (the active window, or the topmost
    // grabbing popup).
    private var keyboardDevices = Set<Int>()
    var keyboards: [WlKeyboard] = []
    private var keyboardFocus: Surface?

    func addKeyboard() -> Int {
        let id = nextDevice
        nextDevice += 1
        keyboardDevices.insert(id)
        capabilitiesChanged()
        return id
    }

    /// Moves keyboard focus to where the shell says (the topmost grabbing popup, else the active
    /// window): leave to the
    /// old surface's client, enter (no keys held) and modifiers (none) to the new one's.
    func updateKeyboardFocus() {
        let target = server.shell.keyboardFocus
        guard target !== keyboardFocus else { return }
        if let old = keyboardFocus, let r = old.resource, let c = client(of: old) {
            let serial = server.nextSerial()
            for k in keyboards where k.client == c { wl_keyboard_send_leave(k.resource, serial, r) }
        }
        keyboardFocus = target
        guard let t = target, let c = client(of: t) else { return }
        for k in keyboards where k.client == c { sendKeyboardEnter(k, t) }
    }

    private func sendKeyboardEnter(_ keyboard: WlKeyboard, _ surface: Surface) {
        guard let r = surface.resource else { return }
        let serial = inputSerial(for: keyboard.client)  // focus serials may name a selection
        var keys = wl_array()
        wl_array_init(&keys)
        wl_keyboard_send_enter(keyboard.resource, serial, r, &keys)
        wl_array_release(&keys)
        wl_keyboard_send_modifiers(keyboard.resource, server.nextSerial(), 0, 0, 0, 0)
    }

    /// A wl_keyboard was created: its client's focused surface, if any, is entered now.
    func keyboardCreated(_ keyboard: WlKeyboard) {
        guard let s = keyboardFocus, client(of: s) == keyboard.client else { return }
        sendKeyboardEnter(keyboard, s)
    }

    /// The mask last announced: a second device of a kind changes nothing and is not announced
    /// (clients create a device object per announcement that has the bit).
    private var announced: UInt32 = 0

    private func capabilitiesChanged() {
        everHad |= capabilities
        guard capabilities != announced else { return }
        announced = capabilities
        for r in seatResources { wl_seat_send_capabilities(r, capabilities) }
    }

    /// Milliseconds on CLOCK_MONOTONIC, the clock of every input event's `time`.
    private var now: UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt32(truncatingIfNeeded: Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000)
    }

    private func client(of surface: Surface) -> OpaquePointer? {
        surface.resource.map { wl_resource_get_client($0) }
    }

    private func inputSerial(for client: OpaquePointer) -> UInt32 {
        let serial = server.nextSerial()
        var list = inputSerials[client] ?? []
        list.append(serial)
        if list.count > 16 { list.removeFirst() }
        inputSerials[client] = list
        return serial
    }

    /// Whether `serial` came with a recent button press or touch down sent to `client`.
    func isInputSerial(_ serial: UInt32, of client: OpaquePointer) -> Bool {
        inputSerials[client]?.contains(serial) ?? false
    }

    /// Whether a button is held right now (an interactive move needs one).
    var isButtonDown: Bool { !buttons.isEmpty }

    func clientGone(_ client: OpaquePointer) {
        inputSerials[client] = nil
    }

    // MARK: devices

    func addDevice(pointer: Bool) -> Int {
        let id = nextDevice
        nextDevice += 1
        if pointer { pointerDevices.insert(id) } else { touchDevices.insert(id) }
        capabilitiesChanged()
        return id
    }

    func removeDevice(_ id: Int) {
        if pointerDevices.remove(id) != nil, pointerDevices.isEmpty {
            setPointerFocus(nil)
            buttons.removeAll()
            moveGrab = nil
            resizeGrab?.toplevel.endInteractiveResize()
            resizeGrab = nil
        }
        if touchDevices.remove(id) != nil { touchUp(id: Int32(id)) }
        keyboardDevices.remove(id)
        capabilitiesChanged()
    }

    // MARK: pointer

    func pointerMoved(toX x: Double, y: Double) {
        cursorX = min(max(x, 0), Double(server.scene.width) - 1 / 256)
        cursorY = min(max(y, 0), Double(server.scene.height) - 1 / 256)
        if let grab = moveGrab {
            grab.toplevel.place(x: Int32((cursorX - grab.dx).rounded(.down)), y: Int32((cursorY - grab.dy).rounded(.down)))
            return
        }
        if let grab = resizeGrab {
            grab.toplevel.interactiveResize(to: Seat.resized(grab.start, edges: grab.edges,
                                                             dx: Int32((cursorX - grab.x0).rounded()), dy: Int32((cursorY - grab.y0).rounded())))
            return
        }
        repickPointerFocus()
    }

    /// Sends enter/leave when the surface under the pointer changed, else motion when the
    /// position within it changed. While a button is held, the focused surface keeps the pointer.
    func repickPointerFocus() {
        guard !pointerDevices.isEmpty, !isGrabbing else { return }
        var target: (surface: Surface, sx: Double, sy: Double)?
        if !buttons.isEmpty, let grabbed = pointerFocus {
            if let o = grabbed.outputOrigin { target = (grabbed, cursorX - Double(o.x), cursorY - Double(o.y)) }
        } else {
            target = server.scene.surfaceAt(x: cursorX, y: cursorY)
        }
        if target?.surface !== pointerFocus || (target != nil && pointerLocal == nil) {
            setPointerFocus(target)
        } else if let t = target, let local = pointerLocal, (t.sx, t.sy) != local, let c = client(of: t.surface) {
            pointerLocal = (t.sx, t.sy)
            let time = now
            for p in pointers where p.client == c {
                wl_pointer_send_motion(p.resource, time, wl_fixed_from_double(t.sx), wl_fixed_from_double(t.sy))
                p.sendFrame()
            }
        }
    }

    private func setPointerFocus(_ target: (surface: Surface, sx: Double, sy: Double)?) {
        if let old = pointerFocus, let r = old.resource, let c = client(of: old) {
            let serial = server.nextSerial()
            for p in pointers where p.client == c {
                wl_pointer_send_leave(p.resource, serial, r)
                p.sendFrame()
            }
        }
        pointerFocus = target?.surface
        pointerLocal = nil
        guard let t = target, let r = t.surface.resource, let c = client(of: t.surface) else { return }
        pointerLocal = (t.sx, t.sy)
        let serial = server.nextSerial()
        for p in pointers where p.client == c {
            p.enterSerial = serial
            wl_pointer_send_enter(p.resource, serial, r, wl_fixed_from_double(t.sx), wl_fixed_from_double(t.sy))
            p.sendFrame()
        }
    }

    /// A wl_pointer was created: if its client's surface has the pointer, it gets enter now.
    func pointerCreated(_ pointer: WlPointer) {
        guard let s = pointerFocus, let r = s.resource, client(of: s) == pointer.client, let local = pointerLocal else { return }
        let serial = server.nextSerial()
        pointer.enterSerial = serial
        wl_pointer_send_enter(pointer.resource, serial, r, wl_fixed_from_double(local.x), wl_fixed_from_double(local.y))
        pointer.sendFrame()
    }

    func pointerButton(_ button: UInt32, pressed: Bool) {
        if pressed {
            guard buttons.insert(button).inserted else { return }
        } else {
            guard buttons.remove(button) != nil else { return }
        }
        if isGrabbing {
            if buttons.isEmpty {
                moveGrab = nil
                resizeGrab?.toplevel.endInteractiveResize()
                resizeGrab = nil
                repickPointerFocus()
            }
            return
        }
        if pressed {
            _ = server.shell.pressDismissesPopupGrabs(on: pointerFocus)
            server.shell.focusWindow(containing: pointerFocus)
        }
        if let s = pointerFocus, s.resource != nil, let c = client(of: s) {
            let serial = inputSerial(for: c)
            let time = now
            let state = pressed ? WL_POINTER_BUTTON_STATE_PRESSED : WL_POINTER_BUTTON_STATE_RELEASED
            for p in pointers where p.client == c {
                wl_pointer_send_button(p.resource, serial, time, button, state.rawValue)
                p.sendFrame()
            }
        }
        // The implicit grab ends with the last button: the pointer may be over another surface.
        if !pressed && buttons.isEmpty { repickPointerFocus() }
    }

    /// xdg_toplevel.move with a serial of a button press still held: the window follows the
    /// pointer until the buttons are released, and the surface loses pointer focus meanwhile.
    func startMove(_ toplevel: XdgToplevel, windowX: Int32, windowY: Int32, serial: UInt32, client: OpaquePointer) {
        guard !buttons.isEmpty, isInputSerial(serial, of: client), !isGrabbing else { return }
        setPointerFocus(nil)
        moveGrab = (toplevel, cursorX - Double(windowX), cursorY - Double(windowY))
    }

    /// xdg_toplevel.resize with a serial of a button press still held: the `edges` of the window
    /// geometry `geometry` (output space) follow the pointer until the buttons are released.
    func startResize(_ toplevel: XdgToplevel, edges: UInt32, geometry: Rect, serial: UInt32, client: OpaquePointer) {
        guard edges != 0, !buttons.isEmpty, isInputSerial(serial, of: client), !isGrabbing else { return }
        setPointerFocus(nil)
        resizeGrab = (toplevel, edges, geometry, cursorX, cursorY)
    }

    /// The window geometry after dragging `edges` (xdg_toplevel.resize_edge bits: 1 top,
    /// 2 bottom, 4 left, 8 right) by (dx, dy); never smaller than 1×1.
    static func resized(_ r: Rect, edges: UInt32, dx: Int32, dy: Int32) -> Rect {
        var (x0, y0, x1, y1) = (r.x, r.y, r.x + r.width, r.y + r.height)
        if edges & 4 != 0 { x0 = min(x0 + dx, x1 - 1) }
        if edges & 8 != 0 { x1 = max(x1 + dx, x0 + 1) }
        if edges & 1 != 0 { y0 = min(y0 + dy, y1 - 1) }
        if edges & 2 != 0 { y1 = max(y1 + dy, y0 + 1) }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    // MARK: touch

    func touchDown(id: Int32, x: Double, y: Double) {
        var target = server.scene.surfaceAt(x: x, y: y)
        if server.shell.pressDismissesPopupGrabs(on: target?.surface) {
            target = server.scene.surfaceAt(x: x, y: y)  // the dismissed popups left the scene
        }
        server.shell.focusWindow(containing: target?.surface)
        guard let hit = target, let r = hit.surface.resource, let c = client(of: hit.surface) else { return }
        touchPoints[id] = TouchPoint(surface: hit.surface, client: c)
        let serial = inputSerial(for: c)
        let time = now
        for t in touches where t.client == c {
            wl_touch_send_down(t.resource, serial, time, r, id, wl_fixed_from_double(hit.sx), wl_fixed_from_double(hit.sy))
            wl_touch_send_frame(t.resource)
        }
    }

    /// Motion stays with the surface the point went down on, even outside it.
    func touchMotion(id: Int32, x: Double, y: Double) {
        guard let point = touchPoints[id], !point.surface.isDestroyed, let o = point.surface.outputOrigin else { return }
        let time = now
        for t in touches where t.client == point.client {
            wl_touch_send_motion(t.resource, time, id, wl_fixed_from_double(x - Double(o.x)), wl_fixed_from_double(y - Double(o.y)))
            wl_touch_send_frame(t.resource)
        }
    }

    func touchUp(id: Int32) {
        guard let point = touchPoints.removeValue(forKey: id) else { return }
        let serial = server.nextSerial()
        let time = now
        for t in touches where t.client == point.client {
            wl_touch_send_up(t.resource, serial, time, id)
            wl_touch_send_frame(t.resource)
        }
    }

    // MARK: the scene changed

    /// A surface is going away: touch points on it end (up), the pointer leaves it.
    func surfaceDestroyed(_ surface: Surface) {
        for (id, point) in touchPoints where point.surface === surface || point.surface.isDestroyed {
            touchUp(id: id)
        }
        if pointerFocus === surface {
            pointerFocus = nil
            pointerLocal = nil
        }
        if keyboardFocus === surface { keyboardFocus = nil }
    }
}
