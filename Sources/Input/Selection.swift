import Buffers
import SurfaceModel
import SceneGraph
import Protocols
import WaylandCore
import CWayland

/// What can hold the selection: a wl_data_source or a data-control source.
package protocol SelectionSource: AnyObject {
    var mimeTypes: [String] { get }
    /// Whether its client object still exists (a destroyed source is never offered).
    var isAlive: Bool { get }
    /// Asks the source's client to write `mimeType` into `fd` (libwayland sends a duplicate).
    func send(mimeType: String, fd: Int32)
    /// Tells the source it is no longer the selection (`replaced`: by another source).
    func cancel(replaced: Bool)
}

/// The seat's selection (the clipboard): which wl_data_source holds it, set through a
/// wl_data_device with the serial of a recent input event. Owned by the server.
///
/// The keyboard focus's client is sent the selection (a `DataOffer` per data device): when the
/// selection changes (`onChange`), when the focus moves to another client
/// (`SeatKeyboard.onFocusClientChanged`), and when the focused client makes a data device.
package final class Selection {
    package private(set) var source: (any SelectionSource)?
    /// The serial the current selection was set with (newer requests must not be older).
    package private(set) var serial: UInt32 = 0
    /// Every wl_data_device, for selection events.
    package private(set) var devices: [DataDevice] = []
    /// Whether `serial` came with a recent input event sent to `client` (the server asks the
    /// seat: button presses and touch points; none without input devices).
    package var isInputSerial: (_ serial: UInt32, _ client: OpaquePointer) -> Bool = { _, _ in false }
    /// Called after the selection changed.
    package var onChange: ((any SelectionSource)?) -> Void = { _ in }

    package init() {}

    package func add(_ device: DataDevice) { devices.append(device) }
    package func remove(_ device: DataDevice) { devices.removeAll { $0 === device } }

    /// `wl_data_device.set_selection`: `source` (nil clears) becomes the selection and the source
    /// it replaces is cancelled. Returns why the request was ignored, or nil when it took effect.
    package func set(_ source: (any SelectionSource)?, serial: UInt32, client: OpaquePointer) -> String? {
        guard isInputSerial(serial, client) else { return "serial is not a recent input serial of the client" }
        if self.source != nil, serial &- self.serial > UInt32.max / 2 {
            return "serial is older than the current selection's"
        }
        replace(with: source)
        self.serial = serial
        return nil
    }

    /// A data-control client's selection (zwlr_data_control_device_v1.set_selection): no serial,
    /// since such clients (clipboard managers, wl-copy) act for the user without input of their own;
    /// who may is decided by who sees the global (`--virtual-input`).
    package func setFromDataControl(_ source: (any SelectionSource)?) {
        replace(with: source)
    }

    private func replace(with source: (any SelectionSource)?) {
        let old = self.source
        self.source = source
        if let old, old !== source { old.cancel(replaced: true) }
        onChange(source)
    }

    /// A destroyed source stops being the selection.
    package func sourceDestroyed(_ source: any SelectionSource) {
        guard self.source === source else { return }
        self.source = nil
        onChange(nil)
    }
}
