import Compositor
import CWlcs

/// wlcs's fake pointer: each call runs on the server thread against one virtual device.
/// Keeps the server thread alive, so a pointer destroyed after `stop` is harmless (its calls
/// then do nothing).
final class VirtualPointer {
    private let thread: ServerThread
    private var device: VirtualDeviceID?

    init(_ thread: ServerThread) {
        self.thread = thread
        var device: VirtualDeviceID?
        thread.perform { device = $0.addVirtualPointer() }
        self.device = device
    }

    func moveAbsolute(x: wl_fixed_t, y: wl_fixed_t) {
        guard let device else { return }
        thread.perform { $0.pointerMoveAbsolute(device, x: fixedToDouble(x), y: fixedToDouble(y)) }
    }

    func moveRelative(dx: wl_fixed_t, dy: wl_fixed_t) {
        guard let device else { return }
        thread.perform { $0.pointerMoveRelative(device, dx: fixedToDouble(dx), dy: fixedToDouble(dy)) }
    }

    func button(_ button: Int32, pressed: Bool) {
        guard let device else { return }
        thread.perform { $0.pointerButton(device, button: UInt32(bitPattern: button), pressed: pressed) }
    }

    func remove() {
        guard let device else { return }
        self.device = nil
        thread.perform { $0.removeVirtualPointer(device) }
    }

    /// The struct handed to wlcs; released by its `destroy`.
    func makeRaw() -> UnsafeMutablePointer<WlcsPointer> {
        let raw = UnsafeMutablePointer<cwlcs_pointer>.allocate(capacity: 1)
        raw.initialize(to: cwlcs_pointer(
            base: WlcsPointer(
                version: UInt32(WLCS_POINTER_VERSION),
                move_absolute: { p, x, y in VirtualPointer.owner(p).moveAbsolute(x: x, y: y) },
                move_relative: { p, dx, dy in VirtualPointer.owner(p).moveRelative(dx: dx, dy: dy) },
                button_up: { p, button in VirtualPointer.owner(p).button(button, pressed: false) },
                button_down: { p, button in VirtualPointer.owner(p).button(button, pressed: true) },
                destroy: { p in
                    let container = container(p)
                    let owner = Unmanaged<VirtualPointer>.fromOpaque(container.pointee.owner).takeRetainedValue()
                    owner.remove()
                    container.deallocate()
                }),
            owner: Unmanaged.passRetained(self).toOpaque()))
        return UnsafeMutableRawPointer(raw).assumingMemoryBound(to: WlcsPointer.self)
    }

    private static func owner(_ p: UnsafeMutablePointer<WlcsPointer>?) -> VirtualPointer {
        Unmanaged<VirtualPointer>.fromOpaque(container(p).pointee.owner).takeUnretainedValue()
    }
}

/// wlcs's fake touchscreen (one touch point per device, as wlcs drives it).
final class VirtualTouch {
    private let thread: ServerThread
    private var device: VirtualDeviceID?

    init(_ thread: ServerThread) {
        self.thread = thread
        var device: VirtualDeviceID?
        thread.perform { device = $0.addVirtualTouch() }
        self.device = device
    }

    // touch.h declares wl_fixed_t, but every wlcs release passes whole pixels here
    // (`Touch::down_at(int x, int y)` forwards its ints unconverted), unlike the pointer.
    func down(x: wl_fixed_t, y: wl_fixed_t) {
        guard let device else { return }
        thread.perform { $0.touchDown(device, x: Double(x), y: Double(y)) }
    }

    func move(x: wl_fixed_t, y: wl_fixed_t) {
        guard let device else { return }
        thread.perform { $0.touchMove(device, x: Double(x), y: Double(y)) }
    }

    func up() {
        guard let device else { return }
        thread.perform { $0.touchUp(device) }
    }

    func remove() {
        guard let device else { return }
        self.device = nil
        thread.perform { $0.removeVirtualTouch(device) }
    }

    /// The struct handed to wlcs; released by its `destroy`.
    func makeRaw() -> UnsafeMutablePointer<WlcsTouch> {
        let raw = UnsafeMutablePointer<cwlcs_touch>.allocate(capacity: 1)
        raw.initialize(to: cwlcs_touch(
            base: WlcsTouch(
                version: UInt32(WLCS_TOUCH_VERSION),
                touch_down: { t, x, y in VirtualTouch.owner(t).down(x: x, y: y) },
                touch_move: { t, x, y in VirtualTouch.owner(t).move(x: x, y: y) },
                touch_up: { t in VirtualTouch.owner(t).up() },
                destroy: { t in
                    let container = container(t)
                    let owner = Unmanaged<VirtualTouch>.fromOpaque(container.pointee.owner).takeRetainedValue()
                    owner.remove()
                    container.deallocate()
                }),
            owner: Unmanaged.passRetained(self).toOpaque()))
        return UnsafeMutableRawPointer(raw).assumingMemoryBound(to: WlcsTouch.self)
    }

    private static func owner(_ t: UnsafeMutablePointer<WlcsTouch>?) -> VirtualTouch {
        Unmanaged<VirtualTouch>.fromOpaque(container(t).pointee.owner).takeUnretainedValue()
    }
}

/// wl_fixed_t is a 24.8 fixed-point number.
func fixedToDouble(_ value: wl_fixed_t) -> Double { Double(value) / 256 }

/// The container whose first member wlcs holds.
private func container(_ p: UnsafeMutablePointer<WlcsPointer>?) -> UnsafeMutablePointer<cwlcs_pointer> {
    UnsafeMutableRawPointer(p!).assumingMemoryBound(to: cwlcs_pointer.self)
}

private func container(_ t: UnsafeMutablePointer<WlcsTouch>?) -> UnsafeMutablePointer<cwlcs_touch> {
    UnsafeMutableRawPointer(t!).assumingMemoryBound(to: cwlcs_touch.self)
}
