import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Protocols
import WaylandCore

/// `wl_data_source`: what a client offers (mime types, drag-and-drop actions) for a selection or
/// a drag. Data is only ever pulled from it with `send`, which needs a receiving wl_data_offer.
package final class DataSource: ResourceHandler, SelectionSource {
    /// wl_data_device_manager.dnd_action: copy | move | ask.
    package static let allActions: UInt32 = WL_DATA_DEVICE_MANAGER_DND_ACTION_COPY.rawValue
        | WL_DATA_DEVICE_MANAGER_DND_ACTION_MOVE.rawValue | WL_DATA_DEVICE_MANAGER_DND_ACTION_ASK.rawValue
    private let state: DataDeviceState
    package private(set) var resource: OpaquePointer?
    package private(set) var mimeTypes: [String] = []
    /// Set by set_actions (v3), which makes this a drag-and-drop source.
    package private(set) var actions: UInt32?
    /// Used by set_selection or start_drag: it may not be used again, nor take actions.
    package var isUsed = false

    package init(state: DataDeviceState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package var isAlive: Bool { resource != nil }

    package var version: UInt32 { resource.map { UInt32(wl_resource_get_version($0)) } ?? 0 }

    package func handle(_ request: Request) {
        switch WlDataSourceRequest(request) {
        case let .offer(mime)?:
            if !mimeTypes.contains(mime) { mimeTypes.append(mime) }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .setActions(dndActions)?:
            setActions(request, dndActions)
        case nil: break
        }
    }

    /// "Must be made once only, and can only be made on sources used in drag-and-drop, so it
    /// must be performed before wl_data_device.start_drag."
    private func setActions(_ request: Request, _ requested: UInt32) {
        if isUsed {
            // The source was consumed by set_selection or start_drag: it no longer accepts this
            // request (invalid_source, "source doesn't accept this request"; Weston and wlroots
            // use invalid_action_mask after start_drag).
            return state.context.post(WlDataSourceError.invalidSource, on: request.resource,
                                    "set_actions on a source already used by set_selection or start_drag")
        }
        if actions != nil {
            // The code Weston, wlroots and mutter post for a second set_actions.
            return state.context.post(WlDataSourceError.invalidActionMask, on: request.resource,
                                    "set_actions may be sent only once")
        }
        guard requested & ~Self.allActions == 0 else {
            return state.context.post(WlDataSourceError.invalidActionMask, on: request.resource,
                                    "dnd_actions 0x\(String(requested, radix: 16)) has bits outside copy|move|ask (0x7)")
        }
        actions = requested
    }

    /// `send`: the source writes `mimeType`'s data into `fd` (libwayland sends a duplicate; the
    /// caller closes its own).
    package func send(mimeType: String, fd: Int32) {
        guard let resource else { return }
        wl_data_source_send_send(resource, mimeType, fd)
    }

    /// `cancelled`. Sources of version 2 or older only get it when replaced by another source
    /// (wl_data_source.cancelled), so `replaced` says whether that is the reason.
    package func cancel(replaced: Bool) {
        guard let resource, replaced || version >= 3 else { return }
        wl_data_source_send_cancelled(resource)
    }

    package func resourceDestroyed() {
        resource = nil
        state.selection.sourceDestroyed(self)
    }
}
