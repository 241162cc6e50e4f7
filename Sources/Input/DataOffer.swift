import Buffers
import CWayland
import Protocols
import SceneGraph
import WaylandCore

/// `wl_data_offer` for the selection: made by compositord for a focused client's data device,
/// naming the selection's mime types; `receive` asks the source to write into the client's fd.
///
/// An offer stays tied to the source it was made for: once the selection moves on (or the source
/// is destroyed) its `receive` does nothing, and the client's fd is closed, so the reader sees
/// end of file at once rather than waiting (wlroots makes such offers inert too).
package final class DataOffer: ResourceHandler {
    private let state: DataDeviceState
    private weak var source: (any SelectionSource)?

    init(state: DataDeviceState, source: any SelectionSource) {
        self.state = state
        self.source = source
    }

    package func handle(_ request: Request) {
        switch WlDataOfferRequest(request) {
        case let .receive(mimeType, fd)?:
            defer { ReceivedFd.close(fd) }
            guard let source, source === state.selection.source, source.mimeTypes.contains(mimeType) else { return }
            source.send(mimeType: mimeType, fd: fd)
        case .accept?:
            break  // drag-and-drop feedback; a selection offer has no target to tell
        case .finish?:
            state.context.post(WlDataOfferError.invalidFinish, on: request.resource,
                               "finish on a selection offer: finish ends a drag-and-drop, not a paste")
        case .setActions?:
            state.context.post(WlDataOfferError.invalidOffer, on: request.resource,
                               "set_actions on a selection offer: actions are for drag-and-drop offers")
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

extension DataDeviceState {
    /// Sends the selection to `client`'s data devices (the keyboard focus's client: the one that
    /// may paste), as a fresh offer each, or `selection(null)` when there is none.
    package func offerSelection(to client: OpaquePointer?) {
        guard let client else { return }
        for device in selection.devices where device.client == client { offerSelection(to: device) }
    }

    package func offerSelection(to device: DataDevice) {
        guard let source = selection.source, source.isAlive else {
            wl_data_device_send_selection(device.resource, nil)
            return
        }
        guard let offer = Resources.create(client: device.client, interface: cw_wl_data_offer_interface(),
                                           version: UInt32(wl_resource_get_version(device.resource)), id: 0,
                                           handler: { _ in DataOffer(state: self, source: source) }) else { return }
        wl_data_device_send_data_offer(device.resource, offer)
        for mime in source.mimeTypes { wl_data_offer_send_offer(offer, mime) }
        wl_data_device_send_selection(device.resource, offer)
    }

    /// The client whose surface has keyboard focus.
    package var focusedClient: OpaquePointer? { state(of: seat.keyboard.focus) }

    private func state(of surface: SceneGraph.Surface?) -> OpaquePointer? { surface.flatMap { SeatContext.client(of: $0) } }
}
