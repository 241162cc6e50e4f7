import Buffers
import CWayland
import Protocols
import SceneGraph
import WaylandCore

/// zwp_primary_selection's family state: the seat's primary selection (middle-click paste, a
/// `Selection` of its own) and every primary-selection device. Like the clipboard, it is offered
/// to the keyboard focus's client: when it changes, when the focus moves to another client, and
/// when the focused client makes a device.
package final class PrimarySelectionState {
    package unowned let context: ProtocolContext
    package let selection: Selection
    package unowned let seat: Seat
    fileprivate var devices: [PrimarySelectionDevice] = []

    package init(context: ProtocolContext, selection: Selection, seat: Seat) {
        self.context = context
        self.selection = selection
        self.seat = seat
    }

    package var focusedClient: OpaquePointer? { seat.keyboard.focus.flatMap { SeatContext.client(of: $0) } }

    package func offerSelection(to client: OpaquePointer?) {
        guard let client else { return }
        for device in devices where wl_resource_get_client(device.resource) == client { device.sendSelection() }
    }
}

/// `zwp_primary_selection_device_manager_v1`.
package final class PrimarySelectionDeviceManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: PrimarySelectionState

    private init(state: PrimarySelectionState) { self.state = state }

    package static func bind(_ state: PrimarySelectionState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwp_primary_selection_device_manager_v1_interface(), version: version, id: id) { _ in
            PrimarySelectionDeviceManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwpPrimarySelectionDeviceManagerV1Request(request) {
        case let .createSource(id)?:
            Resources.create(client: request.client, interface: cw_zwp_primary_selection_source_v1_interface(), version: request.version, id: id) { r in
                PrimarySelectionSource(state: state, resource: r)
            }
        case let .getDevice(id, _)?:  // one seat: libwayland checked the argument is a wl_seat
            var device: PrimarySelectionDevice?
            Resources.create(client: request.client, interface: cw_zwp_primary_selection_device_v1_interface(), version: request.version, id: id) { r in
                device = PrimarySelectionDevice(state: state, resource: r)
                return device!
            }
            if let device {
                state.devices.append(device)
                if state.focusedClient == request.client { device.sendSelection() }
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zwp_primary_selection_device_v1`: `set_selection` with the serial of a recent input event
/// (as wl_data_device's), and the primary selection offered while its client has the focus.
package final class PrimarySelectionDevice: ResourceHandler {
    private let state: PrimarySelectionState
    let resource: OpaquePointer

    init(state: PrimarySelectionState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ZwpPrimarySelectionDeviceV1Request(request) {
        case let .setSelection(sourceResource, serial)?:
            let source = Resources.object(sourceResource, as: PrimarySelectionSource.self)
            // The protocol names no error: a used source or a stale serial is ignored, as peers do.
            if source?.isUsed == true { return state.context.logger.debug("primary set_selection ignored: the source was already used") }
            source?.isUsed = true
            if let reason = state.selection.set(source, serial: serial, client: request.client) {
                state.context.logger.debug("primary set_selection ignored: \(reason)", metadata: ["serial": "\(serial)"])
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    /// `data_offer` with a fresh offer and its mime types, then `selection`; or `selection(null)`.
    func sendSelection() {
        guard let source = state.selection.source, source.isAlive else {
            zwp_primary_selection_device_v1_send_selection(resource, nil)
            return
        }
        guard let offer = Resources.create(client: wl_resource_get_client(resource), interface: cw_zwp_primary_selection_offer_v1_interface(),
                                           version: UInt32(wl_resource_get_version(resource)), id: 0,
                                           handler: { _ in PrimarySelectionOffer(state: self.state, source: source) }) else { return }
        zwp_primary_selection_device_v1_send_data_offer(resource, offer)
        for mime in source.mimeTypes { zwp_primary_selection_offer_v1_send_offer(offer, mime) }
        zwp_primary_selection_device_v1_send_selection(resource, offer)
    }

    package func resourceDestroyed() {
        state.devices.removeAll { $0 === self }
    }
}

/// `zwp_primary_selection_source_v1`.
package final class PrimarySelectionSource: ResourceHandler, SelectionSource {
    private let state: PrimarySelectionState
    private(set) var resource: OpaquePointer?
    package private(set) var mimeTypes: [String] = []
    var isUsed = false

    init(state: PrimarySelectionState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package var isAlive: Bool { resource != nil }

    package func handle(_ request: Request) {
        switch ZwpPrimarySelectionSourceV1Request(request) {
        case let .offer(mime)?:
            if !mimeTypes.contains(mime), mimeTypes.count < DataControlSource.maxMimeTypes { mimeTypes.append(mime) }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func send(mimeType: String, fd: Int32) {
        guard let resource else { return }
        zwp_primary_selection_source_v1_send_send(resource, mimeType, fd)
    }

    package func cancel(replaced: Bool) {
        guard let resource else { return }
        zwp_primary_selection_source_v1_send_cancelled(resource)
    }

    package func resourceDestroyed() {
        resource = nil
        state.selection.sourceDestroyed(self)
    }
}

/// `zwp_primary_selection_offer_v1`: inert (the fd closed at once) once the selection moved on.
package final class PrimarySelectionOffer: ResourceHandler {
    private let state: PrimarySelectionState
    private weak var source: (any SelectionSource)?

    init(state: PrimarySelectionState, source: any SelectionSource) {
        self.state = state
        self.source = source
    }

    package func handle(_ request: Request) {
        switch ZwpPrimarySelectionOfferV1Request(request) {
        case let .receive(mimeType, fd)?:
            defer { ReceivedFd.close(fd) }
            guard let source, source === state.selection.source, source.mimeTypes.contains(mimeType) else { return }
            source.send(mimeType: mimeType, fd: fd)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}
