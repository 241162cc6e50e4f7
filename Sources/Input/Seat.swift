import CWayland
import Glibc
import SceneGraph
import Buffers
import SurfaceModel
import Protocols
import WaylandCore

/// What the seat asks the window-management policy (the `Shell`) when a press lands: input
/// goes to whatever has focus, and who has focus is the shell's decision.
package protocol SeatDelegate: AnyObject {
    /// A button press or touch down is landing on `surface` (nil: on nothing). Returns whether
    /// that changed the scene (popup grabs dismissed), so what is under the press must be
    /// picked again.
    func pressDismissesPopupGrabs(on surface: Surface?) -> Bool
    /// Click (or tap) to focus: the window whose tree holds `surface`.
    func focusWindow(containing surface: Surface?)
}

/// What the seat's devices share: serials (libwayland's, from the display), the serials of
/// recent input per client, and the policy asked when a press lands.
package final class SeatContext {
    private let display: OpaquePointer
    /// The shell; weak: the shell holds the seat.
    package weak var delegate: SeatDelegate?
    /// Serials of recent button presses, touch downs and keyboard enters per client (for grabs
    /// and selections).
    private var inputSerials: [OpaquePointer: [UInt32]] = [:]

    package init(display: OpaquePointer) { self.display = display }

    package func nextSerial() -> UInt32 { wl_display_next_serial(display) }

    /// A new serial, remembered as input sent to `client` (presses, touch downs, focus).
    package func inputSerial(for client: OpaquePointer) -> UInt32 {
        let serial = nextSerial()
        var list = inputSerials[client] ?? []
        list.append(serial)
        if list.count > 16 { list.removeFirst() }
        inputSerials[client] = list
        return serial
    }

    /// Whether `serial` came with a recent button press, touch down or focus sent to `client`.
    package func isInputSerial(_ serial: UInt32, of client: OpaquePointer) -> Bool {
        inputSerials[client]?.contains(serial) ?? false
    }

    package func clientGone(_ client: OpaquePointer) { inputSerials[client] = nil }

    /// Milliseconds on CLOCK_MONOTONIC, the clock of every input event's `time`.
    package static var now: UInt32 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt32(truncatingIfNeeded: Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000)
    }

    package static func client(of surface: Surface) -> OpaquePointer? {
        surface.resource.map { wl_resource_get_client($0) }
    }
}

/// The one seat ("seat0"): which input devices exist, with delivery split per device as
/// wlroots splits `types/seat/`: `SeatPointer`, `SeatKeyboard` and `SeatTouch` each own their
/// focus and their clients' device objects, and share a `SeatContext`.
///
/// compositord has no input hardware. The seat always has a keyboard (the configured layout:
/// clients such as wl-copy and toolkits expect one, and focus follows activation without it too);
/// its keys come from virtual keyboards (zwp_virtual_keyboard_v1) and embedders. Pointers and
/// touch devices are virtual only (added by an embedder such as the wlcs module), so a plain
/// `compositord --headless` seat has the keyboard capability alone.
package final class Seat {
    package let name = "seat0"
    package let context: SeatContext
    package let pointer: SeatPointer
    package let keyboard: SeatKeyboard
    package let touch: SeatTouch
    /// Bound wl_seat resources (capabilities are announced to them).
    package var seatResources: [OpaquePointer] = []

    private var pointerDevices = Set<Int>(), touchDevices = Set<Int>(), keyboardDevices = Set<Int>()
    private var nextDevice = 1
    /// Every capability the seat ever had (wl_seat: getting a device it never had is an error).
    package private(set) var everHad: UInt32 = 0
    /// The mask last announced: a second device of a kind changes nothing and is not announced
    /// (clients create a device object per announcement that has the bit).
    private var announced: UInt32 = 0

    package init(display: OpaquePointer, scene: Scene, keyboard builtIn: KeyboardState) {
        context = SeatContext(display: display)
        pointer = SeatPointer(context: context, scene: scene)
        keyboard = SeatKeyboard(context: context, builtIn: builtIn)
        everHad = WL_SEAT_CAPABILITY_KEYBOARD.rawValue
        announced = WL_SEAT_CAPABILITY_KEYBOARD.rawValue
        touch = SeatTouch(context: context, scene: scene)
    }

    /// The policy asked when a press lands (the shell).
    package var delegate: SeatDelegate? {
        get { context.delegate }
        set { context.delegate = newValue }
    }

    /// The keyboard is always there (the seat's own, `SeatKeyboard.builtIn`).
    package var capabilities: UInt32 {
        (pointerDevices.isEmpty ? 0 : WL_SEAT_CAPABILITY_POINTER.rawValue)
            | (touchDevices.isEmpty ? 0 : WL_SEAT_CAPABILITY_TOUCH.rawValue)
            | WL_SEAT_CAPABILITY_KEYBOARD.rawValue
    }

    // MARK: devices

    package enum DeviceKind { case pointer, keyboard, touch }

    package func addDevice(_ kind: DeviceKind) -> Int {
        let id = nextDevice
        nextDevice += 1
        switch kind {
        case .pointer: pointerDevices.insert(id)
        case .keyboard: keyboardDevices.insert(id)
        case .touch: touchDevices.insert(id)
        }
        pointer.hasDevice = !pointerDevices.isEmpty
        capabilitiesChanged()
        return id
    }

    package func removeDevice(_ id: Int) {
        if pointerDevices.remove(id) != nil, pointerDevices.isEmpty { pointer.lastDeviceRemoved() }
        if touchDevices.remove(id) != nil { touch.up(id: Int32(id)) }
        keyboardDevices.remove(id)
        pointer.hasDevice = !pointerDevices.isEmpty
        capabilitiesChanged()
    }

    private func capabilitiesChanged() {
        everHad |= capabilities
        guard capabilities != announced else { return }
        announced = capabilities
        for r in seatResources { wl_seat_send_capabilities(r, capabilities) }
    }

    /// Whether `serial` came with a recent button press or touch down sent to `client`.
    package func isInputSerial(_ serial: UInt32, of client: OpaquePointer) -> Bool {
        context.isInputSerial(serial, of: client)
    }

    package func clientGone(_ client: OpaquePointer) { context.clientGone(client) }

    /// A surface is going away: touch points on it end (up), the pointer and keyboard leave it.
    package func surfaceDestroyed(_ surface: Surface) {
        touch.surfaceDestroyed(surface)
        pointer.surfaceDestroyed(surface)
        keyboard.surfaceDestroyed(surface)
    }
}
