import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Protocols
import WaylandCore

/// The data-device family's state (wl_data_device_manager, wl_data_device, wl_data_source): the
/// context, the seat's selection, and the seat (input serials for set_selection and start_drag).
package final class DataDeviceState {
    package unowned let context: ProtocolContext
    package let selection: Selection
    package unowned let seat: Seat

    package init(context: ProtocolContext, selection: Selection, seat: Seat) {
        self.context = context
        self.selection = selection
        self.seat = seat
    }
}

/// `wl_data_device_manager` v3: the factory for data sources and per-seat data devices.
package final class DataDeviceManager: ResourceHandler {
    package static let version: UInt32 = 3
    private let state: DataDeviceState

    package init(state: DataDeviceState) { self.state = state }

    package static func bind(_ state: DataDeviceState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_data_device_manager_interface(), version: version, id: id) { _ in
            DataDeviceManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch WlDataDeviceManagerRequest(request) {
        case let .createDataSource(id)?:
            Resources.create(client: request.client, interface: cw_wl_data_source_interface(), version: request.version, id: id) { r in
                DataSource(state: state, resource: r)
            }
        case let .getDataDevice(id, _)?:
            // The wl_seat argument names the one seat there is; libwayland has checked it is a
            // wl_seat, and nothing here needs more of it.
            var device: DataDevice?
            Resources.create(client: request.client, interface: cw_wl_data_device_interface(), version: request.version, id: id) { r in
                device = DataDevice(state: state, resource: r)
                state.selection.add(device!)
                return device!
            }
            // A device made while its client has the keyboard focus gets the selection at once.
            if let device, state.focusedClient == request.client { state.offerSelection(to: device) }
        case nil: break
        }
    }
}
