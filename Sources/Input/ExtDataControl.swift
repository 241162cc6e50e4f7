import Buffers
import CWayland
import Protocols
import WaylandCore

// ext-data-control-v1: the same as DataControl.swift (zwlr) under the staging protocol's names,
// sharing its state, so a selection set through either family reaches devices of both.

/// `ext_data_control_manager_v1` (staging): wlr data control's successor, the same shapes, with
/// the primary selection in v1.
package final class ExtDataControlManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: DataControlState

    private init(state: DataControlState) { self.state = state }

    package static func bind(_ state: DataControlState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_ext_data_control_manager_v1_interface(), version: version, id: id) { _ in
            ExtDataControlManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ExtDataControlManagerV1Request(request) {
        case let .createDataSource(id)?:
            Resources.create(client: request.client, interface: cw_ext_data_control_source_v1_interface(), version: request.version, id: id) { r in
                DataControlSource(state: state, family: .ext, resource: r)
            }
        case let .getDataDevice(id, _)?:  // one seat: libwayland checked the argument is a wl_seat
            var device: ExtDataControlDevice?
            Resources.create(client: request.client, interface: cw_ext_data_control_device_v1_interface(), version: request.version, id: id) { r in
                device = ExtDataControlDevice(state: state, resource: r)
                return device!
            }
            // The current selection at once, as wlroots sends it.
            if let device {
                state.devices.append(device)
                device.sendSelection()
                device.sendPrimarySelection()
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `ext_data_control_device_v1`: sets the selection, and is sent each new one as an offer.
package final class ExtDataControlDevice: ResourceHandler, DataControlDeviceObject {
    private let state: DataControlState
    let resource: OpaquePointer

    init(state: DataControlState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ExtDataControlDeviceV1Request(request) {
        case let .setSelection(sourceResource)?:
            guard let source = use(sourceResource, request) else { return }
            state.selection.setFromDataControl(source)
        case let .setPrimarySelection(sourceResource)?:
            guard let source = use(sourceResource, request) else { return }
            state.primary.setFromDataControl(source)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    /// The source named, marked used (`.some(nil)` clears); nil after posting used_source.
    private func use(_ sourceResource: OpaquePointer?, _ request: Request) -> DataControlSource?? {
        let source = Resources.object(sourceResource, as: DataControlSource.self)
        if let source {
            guard !source.isUsed else {
                state.context.post(ExtDataControlDeviceV1Error.usedSource, on: request.resource,
                                   "ext_data_control_source_v1 was already given to set_selection: create a new source")
                return nil
            }
            source.isUsed = true
        }
        return .some(source)
    }

    /// ext devices have the primary selection from version 1.
    private var hasPrimary: Bool { true }

    package func sendSelection() {
        ext_data_control_device_v1_send_selection(resource, makeOffer(for: state.selection))
    }

    package func sendPrimarySelection() {
        guard hasPrimary else { return }
        ext_data_control_device_v1_send_primary_selection(resource, makeOffer(for: state.primary))
    }

    /// `data_offer` with a fresh offer for `selection`'s source and its mime types (nil: none).
    private func makeOffer(for selection: Selection) -> OpaquePointer? {
        guard let source = selection.source, source.isAlive,
              let offer = Resources.create(client: wl_resource_get_client(resource), interface: cw_ext_data_control_offer_v1_interface(),
                                           version: UInt32(wl_resource_get_version(resource)), id: 0,
                                           handler: { _ in DataControlOffer(selection: selection, family: .ext, source: source) }) else { return nil }
        ext_data_control_device_v1_send_data_offer(resource, offer)
        for mime in source.mimeTypes { ext_data_control_offer_v1_send_offer(offer, mime) }
        return offer
    }

    package func resourceDestroyed() {
        state.devices.removeAll { $0 === self }
    }
}
