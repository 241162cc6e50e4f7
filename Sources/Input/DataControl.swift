import Buffers
import CWayland
import Protocols
import WaylandCore

/// zwlr_data_control_manager_v1's family state: the seat's selection, and every data-control
/// device (each is told of every selection change).
///
/// Data control is for clipboard tools acting for the user (wl-copy, wl-paste, clipboard
/// managers): they read and set the selection without focus or input serials. Who may is decided
/// by who sees the global (`--virtual-input deny` hides it).
package final class DataControlState {
    package unowned let context: ProtocolContext
    package let selection: Selection
    /// The primary selection (zwp_primary_selection's), which v2 devices also read and set.
    package let primary: Selection
    /// zwlr and ext devices alike.
    var devices: [any DataControlDeviceObject] = []

    package init(context: ProtocolContext, selection: Selection, primary: Selection) {
        self.context = context
        self.selection = selection
        self.primary = primary
    }

    /// Every data-control device gets the new selection.
    package func selectionChanged() {
        for device in devices { device.sendSelection() }
    }

    /// Every data-control device that speaks the primary selection gets the new one.
    package func primaryChanged() {
        for device in devices { device.sendPrimarySelection() }
    }
}

/// A data-control device of either family (zwlr_data_control_device_v1, ext_data_control_device_v1).
package protocol DataControlDeviceObject: AnyObject {
    /// `data_offer` with a fresh offer and its mime types, then `selection`; or `selection(null)`.
    func sendSelection()
    /// The same for the primary selection (`primary_selection`), where the device has it.
    func sendPrimarySelection()
}

/// `zwlr_data_control_manager_v1` v2 (v2 adds the primary selection; wayvnc binds v2).
package final class DataControlManager: ResourceHandler {
    package static let version: UInt32 = 2
    private let state: DataControlState

    private init(state: DataControlState) { self.state = state }

    package static func bind(_ state: DataControlState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwlr_data_control_manager_v1_interface(), version: version, id: id) { _ in
            DataControlManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwlrDataControlManagerV1Request(request) {
        case let .createDataSource(id)?:
            Resources.create(client: request.client, interface: cw_zwlr_data_control_source_v1_interface(), version: request.version, id: id) { r in
                DataControlSource(state: state, family: .wlr, resource: r)
            }
        case let .getDataDevice(id, _)?:  // one seat: libwayland checked the argument is a wl_seat
            var device: DataControlDevice?
            Resources.create(client: request.client, interface: cw_zwlr_data_control_device_v1_interface(), version: request.version, id: id) { r in
                device = DataControlDevice(state: state, resource: r)
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

/// `zwlr_data_control_device_v1`: sets the selection, and is sent each new one as an offer.
package final class DataControlDevice: ResourceHandler, DataControlDeviceObject {
    private let state: DataControlState
    let resource: OpaquePointer

    init(state: DataControlState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ZwlrDataControlDeviceV1Request(request) {
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
                state.context.post(ZwlrDataControlDeviceV1Error.usedSource, on: request.resource,
                                   "zwlr_data_control_source_v1 was already given to set_selection: create a new source")
                return nil
            }
            source.isUsed = true
        }
        return .some(source)
    }

    /// Whether this device has the primary selection (since version 2).
    private var hasPrimary: Bool { wl_resource_get_version(resource) >= 2 }

    package func sendSelection() {
        zwlr_data_control_device_v1_send_selection(resource, makeOffer(for: state.selection))
    }

    package func sendPrimarySelection() {
        guard hasPrimary else { return }
        zwlr_data_control_device_v1_send_primary_selection(resource, makeOffer(for: state.primary))
    }

    /// `data_offer` with a fresh offer for `selection`'s source and its mime types (nil: none).
    private func makeOffer(for selection: Selection) -> OpaquePointer? {
        guard let source = selection.source, source.isAlive,
              let offer = Resources.create(client: wl_resource_get_client(resource), interface: cw_zwlr_data_control_offer_v1_interface(),
                                           version: UInt32(wl_resource_get_version(resource)), id: 0,
                                           handler: { _ in DataControlOffer(selection: selection, family: .wlr, source: source) }) else { return nil }
        zwlr_data_control_device_v1_send_data_offer(resource, offer)
        for mime in source.mimeTypes { zwlr_data_control_offer_v1_send_offer(offer, mime) }
        return offer
    }

    package func resourceDestroyed() {
        state.devices.removeAll { $0 === self }
    }
}

/// Which data-control protocol an object speaks: wlroots' `zwlr_data_control_*_v1` or the staging
/// `ext_data_control_*_v1`, its copy (same requests, same events, same opcodes). The sources and
/// offers of both are one class each; only the C functions that send differ.
package enum DataControlFamily {
    case wlr, ext
}

/// A data-control client's data for the selection (`zwlr_data_control_source_v1` or
/// `ext_data_control_source_v1`).
package final class DataControlSource: ResourceHandler, SelectionSource {
    /// Mime types a source may offer: a flood of distinct ones cannot grow every offer without
    /// bound (real sources offer a handful: wl-copy five for text).
    package static let maxMimeTypes = 256
    private let state: DataControlState
    private let family: DataControlFamily
    private(set) var resource: OpaquePointer?
    package private(set) var mimeTypes: [String] = []
    var isUsed = false

    init(state: DataControlState, family: DataControlFamily, resource: OpaquePointer) {
        self.state = state
        self.family = family
        self.resource = resource
    }

    package var isAlive: Bool { resource != nil }

    package func handle(_ request: Request) {
        let offer: String?
        switch family {
        case .wlr:
            switch ZwlrDataControlSourceV1Request(request) {
            case let .offer(mime)?: offer = mime
            case .destroy?: return wl_resource_destroy(request.resource)
            case nil: return
            }
        case .ext:
            switch ExtDataControlSourceV1Request(request) {
            case let .offer(mime)?: offer = mime
            case .destroy?: return wl_resource_destroy(request.resource)
            case nil: return
            }
        }
        guard let mime = offer else { return }
        guard !isUsed else {
            let why = "offer after set_selection: offer every mime type before setting the selection"
            switch family {
            case .wlr: return state.context.post(ZwlrDataControlSourceV1Error.invalidOffer, on: request.resource, why)
            case .ext: return state.context.post(ExtDataControlSourceV1Error.invalidOffer, on: request.resource, why)
            }
        }
        if !mimeTypes.contains(mime), mimeTypes.count < Self.maxMimeTypes { mimeTypes.append(mime) }
    }

    package func send(mimeType: String, fd: Int32) {
        guard let resource else { return }
        switch family {
        case .wlr: zwlr_data_control_source_v1_send_send(resource, mimeType, fd)
        case .ext: ext_data_control_source_v1_send_send(resource, mimeType, fd)
        }
    }

    /// `cancelled`: the source is no longer the selection, however that came about.
    package func cancel(replaced: Bool) {
        guard let resource else { return }
        switch family {
        case .wlr: zwlr_data_control_source_v1_send_cancelled(resource)
        case .ext: ext_data_control_source_v1_send_cancelled(resource)
        }
    }

    package func resourceDestroyed() {
        resource = nil
        state.selection.sourceDestroyed(self)
        state.primary.sourceDestroyed(self)
    }
}

/// A data-control offer (`zwlr_data_control_offer_v1` or `ext_data_control_offer_v1`): `receive`
/// asks the selection's source (the clipboard's or the primary's) to write into the fd; inert
/// (the fd closed at once) once that selection moved on.
package final class DataControlOffer: ResourceHandler {
    private let selection: Selection
    private let family: DataControlFamily
    private weak var source: (any SelectionSource)?

    init(selection: Selection, family: DataControlFamily, source: any SelectionSource) {
        self.selection = selection
        self.family = family
        self.source = source
    }

    package func handle(_ request: Request) {
        let receive: (mimeType: String, fd: Int32)?
        switch family {
        case .wlr:
            switch ZwlrDataControlOfferV1Request(request) {
            case let .receive(mimeType, fd)?: receive = (mimeType, fd)
            case .destroy?: return wl_resource_destroy(request.resource)
            case nil: return
            }
        case .ext:
            switch ExtDataControlOfferV1Request(request) {
            case let .receive(mimeType, fd)?: receive = (mimeType, fd)
            case .destroy?: return wl_resource_destroy(request.resource)
            case nil: return
            }
        }
        guard let (mimeType, fd) = receive else { return }
        defer { ReceivedFd.close(fd) }
        guard let source, source === selection.source, source.mimeTypes.contains(mimeType) else { return }
        source.send(mimeType: mimeType, fd: fd)
    }
}
