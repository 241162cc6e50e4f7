import CWayland
import SceneGraph
import Buffers
import SurfaceModel
import Protocols
import WaylandCore

/// Something that owns the pointer for a while (an interactive move or resize, decided by the
/// shell): it gets the motion instead of the surface under the pointer, until the buttons are
/// released (wlroots' `wlr_seat_pointer_grab`).
package protocol PointerGrab: AnyObject {
    /// The pointer moved to (x, y) in output space.
    func motion(x: Double, y: Double)
    /// The grab ended (the last button was released, or the last pointer device went away).
    func ended()
}

/// The seat's pointer: position, focus (with the implicit grab of a held button), explicit
/// grabs, and its clients' wl_pointer objects.
package final class SeatPointer {
    private let seat: SeatContext
    private let scene: Scene
    package var pointers: [WlPointer] = []
    /// zwp_relative_pointer_v1 objects: relative motion goes to the focused client's.
    package var relativePointers: [RelativePointer] = []
    /// Whether the seat has a pointer device now (focus is tracked only then).
    package var hasDevice = false

    /// Position in output space.
    package private(set) var x = 0.0, y = 0.0
    /// Focus holds its surface strongly (a weak reference would give every focused surface a
    /// side table: slow retains on each commit); `surfaceDestroyed` clears it.
    private var focus: Surface?
    private var focusLocal: (x: Double, y: Double)?
    private var buttons = Set<UInt32>()
    /// A move or resize that owns the pointer (the window under it gets no events meanwhile).
    private var grab: PointerGrab?

    package init(context: SeatContext, scene: Scene) {
        seat = context
        self.scene = scene
    }

    /// The output's size in pixels (absolute motion maps onto it).
    package var outputSize: (width: Double, height: Double) { (Double(scene.width), Double(scene.height)) }

    /// Whether a button is held right now (an interactive move needs one).
    package var isButtonDown: Bool { !buttons.isEmpty }

    /// The device moved by (dx, dy): relative motion to the client with pointer focus (before the
    /// pointer moves: that client is the one the device moved from), then the new position.
    package func moved(byX dx: Double, y dy: Double) {
        if hasDevice, grab == nil, let f = focus, let c = SeatContext.client(of: f) {
            for r in relativePointers where r.client == c { r.send(dx: dx, dy: dy) }
        }
        moved(toX: x + dx, y: y + dy)
    }

    package func moved(toX x: Double, y: Double) {
        (self.x, self.y) = scene.closestPointOnOutputs(x: x, y: y)
        if let grab { return grab.motion(x: self.x, y: self.y) }
        repickFocus()
    }

    /// Sends enter/leave when the surface under the pointer changed, else motion when the
    /// position within it changed. While a button is held, the focused surface keeps the pointer.
    package func repickFocus() {
        guard hasDevice, grab == nil else { return }
        var target: (surface: Surface, sx: Double, sy: Double)?
        if !buttons.isEmpty, let grabbed = focus {
            if let o = grabbed.outputOrigin { target = (grabbed, x - Double(o.x), y - Double(o.y)) }
        } else {
            target = scene.surfaceAt(x: x, y: y)
        }
        if target?.surface !== focus || (target != nil && focusLocal == nil) {
            setFocus(target)
        } else if let t = target, let local = focusLocal, (t.sx, t.sy) != local, let c = SeatContext.client(of: t.surface) {
            focusLocal = (t.sx, t.sy)
            let time = SeatContext.now
            for p in pointers where p.client == c {
                wl_pointer_send_motion(p.resource, time, wl_fixed_from_double(t.sx), wl_fixed_from_double(t.sy))
                p.sendFrame()
            }
        }
    }

    private func setFocus(_ target: (surface: Surface, sx: Double, sy: Double)?) {
        if let old = focus, let r = old.resource, let c = SeatContext.client(of: old) {
            let serial = seat.nextSerial()
            for p in pointers where p.client == c {
                wl_pointer_send_leave(p.resource, serial, r)
                p.sendFrame()
            }
        }
        focus = target?.surface
        focusLocal = nil
        guard let t = target, let r = t.surface.resource, let c = SeatContext.client(of: t.surface) else { return }
        focusLocal = (t.sx, t.sy)
        let serial = seat.nextSerial()
        for p in pointers where p.client == c {
            p.enterSerial = serial
            wl_pointer_send_enter(p.resource, serial, r, wl_fixed_from_double(t.sx), wl_fixed_from_double(t.sy))
            p.sendFrame()
        }
    }

    /// A wl_pointer was created: if its client's surface has the pointer, it gets enter now.
    package func created(_ pointer: WlPointer) {
        pointers.append(pointer)
        guard let s = focus, let r = s.resource, SeatContext.client(of: s) == pointer.client, let local = focusLocal else { return }
        let serial = seat.nextSerial()
        pointer.enterSerial = serial
        wl_pointer_send_enter(pointer.resource, serial, r, wl_fixed_from_double(local.x), wl_fixed_from_double(local.y))
        pointer.sendFrame()
    }

    package func button(_ button: UInt32, pressed: Bool) {
        if pressed {
            guard buttons.insert(button).inserted else { return }
        } else {
            guard buttons.remove(button) != nil else { return }
        }
        if grab != nil {
            if buttons.isEmpty { endGrab() }
            return
        }
        if pressed {
            _ = seat.delegate?.pressDismissesPopupGrabs(on: focus)
            seat.delegate?.focusWindow(containing: focus)
        }
        if let s = focus, s.resource != nil, let c = SeatContext.client(of: s) {
            let serial = seat.inputSerial(for: c)
            let time = SeatContext.now
            let state = pressed ? WL_POINTER_BUTTON_STATE_PRESSED : WL_POINTER_BUTTON_STATE_RELEASED
            for p in pointers where p.client == c {
                wl_pointer_send_button(p.resource, serial, time, button, state.rawValue)
                p.sendFrame()
            }
        }
        // The implicit grab ends with the last button: the pointer may be over another surface.
        if !pressed && buttons.isEmpty { repickFocus() }
    }

    /// Hands the pointer to `grab` when `serial` is a press of `client`'s still held and no
    /// other grab runs (xdg_toplevel.move/resize: "the compositor may ignore [the request] if
    /// the serial is no longer valid"). The focused surface loses the pointer meanwhile.
    package func startGrab(_ grab: PointerGrab, serial: UInt32, client: OpaquePointer) -> Bool {
        guard !buttons.isEmpty, seat.isInputSerial(serial, of: client), self.grab == nil else { return false }
        setFocus(nil)
        self.grab = grab
        return true
    }

    private func endGrab() {
        let ended = grab
        grab = nil
        ended?.ended()
        repickFocus()
    }

    /// Scrolling on `axis` (wl_pointer.axis: 0 vertical, 1 horizontal) by `value` surface-local
    /// units, to the focused surface's client (nothing under a grab). `source` and `discrete` go
    /// first to pointers whose version has them (5+; discrete until 8, which replaced it).
    package func axis(_ axis: UInt32, value: Double, source: UInt32?, discrete: Int32?, time: UInt32) {
        guard grab == nil, let s = focus, s.resource != nil, let c = SeatContext.client(of: s) else { return }
        for p in pointers where p.client == c {
            let version = wl_resource_get_version(p.resource)
            if version >= 5, let source { wl_pointer_send_axis_source(p.resource, source) }
            if (5..<8).contains(version), let discrete { wl_pointer_send_axis_discrete(p.resource, axis, discrete) }
            if value == 0, version >= 5 {
                wl_pointer_send_axis_stop(p.resource, time, axis)
            } else {
                wl_pointer_send_axis(p.resource, time, axis, wl_fixed_from_double(value))
            }
            p.sendFrame()
        }
    }

    /// The last pointer device went away: focus, buttons and any grab end.
    package func lastDeviceRemoved() {
        setFocus(nil)
        buttons.removeAll()
        let ended = grab
        grab = nil
        ended?.ended()
    }

    package func surfaceDestroyed(_ surface: Surface) {
        if focus === surface {
            focus = nil
            focusLocal = nil
        }
    }
}
