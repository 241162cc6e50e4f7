import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Input injected by an embedder (the wlcs integration module, tests): virtual pointers and
/// touch devices on the seat, and placing windows. Must be called on the server's thread.
///
/// Coordinates are output (compositor) space in pixels, fractional where the device allows it.
public struct VirtualDeviceID: Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
}

extension Server {
    /// A pointer device appears: the seat gains the pointer capability while one exists.
    public func addVirtualPointer() -> VirtualDeviceID {
        VirtualDeviceID(rawValue: seat.addDevice(.pointer))
    }

    /// A keyboard appears. The seat always has one (its own, with the configured keymap), so
    /// this changes no capability; its keys (`keyboardKey`) are the seat keyboard's.
    public func addVirtualKeyboard() -> VirtualDeviceID {
        VirtualDeviceID(rawValue: seat.addDevice(.keyboard))
    }

    /// A key of the seat's own keyboard (`key`: a Linux evdev code, KEY_A = 30) goes down or up:
    /// the focused client gets it with the configured keymap, and modifiers as xkb tracks them.
    public func keyboardKey(_ device: VirtualDeviceID, key: UInt32, pressed: Bool) {
        seat.keyboard.key(seat.keyboard.builtIn, code: key, pressed: pressed, time: SeatContext.now)
        flush()
    }

    public func removeVirtualPointer(_ device: VirtualDeviceID) {
        seat.removeDevice(device.rawValue)
        flush()
    }

    public func pointerMoveAbsolute(_ device: VirtualDeviceID, x: Double, y: Double) {
        seat.pointer.moved(toX: x, y: y)
        flush()
    }

    public func pointerMoveRelative(_ device: VirtualDeviceID, dx: Double, dy: Double) {
        seat.pointer.moved(byX: dx, y: dy)
        flush()
    }

    /// `button` is a Linux input code (BTN_LEFT = 0x110).
    public func pointerButton(_ device: VirtualDeviceID, button: UInt32, pressed: Bool) {
        seat.pointer.button(button, pressed: pressed)
        flush()
    }

    /// A touch device appears: the seat gains the touch capability while one exists. Each
    /// device is one touch point, whose id is the device's.
    public func addVirtualTouch() -> VirtualDeviceID {
        VirtualDeviceID(rawValue: seat.addDevice(.touch))
    }

    public func removeVirtualTouch(_ device: VirtualDeviceID) {
        seat.removeDevice(device.rawValue)
        flush()
    }

    public func touchDown(_ device: VirtualDeviceID, x: Double, y: Double) {
        seat.touch.down(id: Int32(device.rawValue), x: x, y: y)
        flush()
    }

    public func touchMove(_ device: VirtualDeviceID, x: Double, y: Double) {
        seat.touch.motion(id: Int32(device.rawValue), x: x, y: y)
        flush()
    }

    public func touchUp(_ device: VirtualDeviceID) {
        seat.touch.up(id: Int32(device.rawValue))
        flush()
    }

    /// Moves the window whose wl_surface is object `surfaceID` of `client` (a server-side
    /// wl_client): a toplevel's window geometry goes to (x, y) (what the user sees as the
    /// window's corner); any other surface's tree is moved so that its origin is at (x, y).
    public func positionWindow(client: OpaquePointer, surfaceID: UInt32, x: Int32, y: Int32) {
        guard let resource = wl_client_get_object(client, surfaceID),
              let surface = Resources.object(resource, as: WlSurface.self)?.surface else {
            logger.warning("positionWindow: no wl_surface@\(surfaceID) in that client")
            return
        }
        let root = surface.root
        if surface === root, let toplevel = root.xdgToplevel {
            toplevel.place(x: x, y: y)
        } else if let view = root.view, let origin = surface.outputOrigin {
            scene.move(view, x: view.x + x - origin.x, y: view.y + y - origin.y)
        } else if let toplevel = root.xdgToplevel {
            toplevel.place(x: x, y: y)
        }
        flush()
    }

    /// Sends what the injected input produced now (the embedder waits on its clients).
    package func flush() { wl_display_flush_clients(display) }
}
