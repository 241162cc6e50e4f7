import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Protocols
import WaylandCore

/// `wl_data_device`: a client's access to the seat's selection and to drag-and-drop.
///
/// Both requests need a serial of a recent input event sent to the client (for a drag, the press
/// of an implicit grab on the origin): a keyboard enter or key press counts, so a focused window
/// can set the selection (wl-copy does). Drag-and-drop itself is not implemented: every drag is
/// cancelled at once.
package final class DataDevice: ResourceHandler {
    /// wl_data_device.error.used_source, added in wayland 1.22 (libwayland 1.21's XML lacks it).
    package static let errorUsedSource: UInt32 = 1
    private let state: DataDeviceState
    package let resource: OpaquePointer

    package init(state: DataDeviceState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package var client: OpaquePointer { wl_resource_get_client(resource) }

    package func handle(_ request: Request) {
        switch WlDataDeviceRequest(request) {
        case let .startDrag(source, _, icon, serial)?:  // the origin is the pointer's focus; nothing checks it
            startDrag(request, source: source, icon: icon, serial: serial)
        case let .setSelection(source, serial)?:
            setSelection(request, source: source, serial: serial)
        case .release?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    /// Marks `source` used; false (after posting used_source) if it already was.
    private func use(_ source: DataSource?, _ request: Request) -> Bool {
        guard let source else { return true }
        if source.isUsed {
            state.context.postError(request.resource, code: Self.errorUsedSource,
                             "wl_data_source@\(source.resource.map(wl_resource_get_id) ?? 0) was already used by set_selection or start_drag")
            return false
        }
        source.isUsed = true
        return true
    }

    private func startDrag(_ request: Request, source sourceResource: OpaquePointer?, icon iconResource: OpaquePointer?, serial: UInt32) {
        let source = Resources.object(sourceResource, as: DataSource.self)
        if let icon = Resources.object(iconResource, as: WlSurface.self)?.surface, !icon.assignRole("wl_data_device-icon") {
            return state.context.post(WlDataDeviceError.role, on: request.resource,
                                    "icon wl_surface@\(icon.id) already has the role \(icon.roleName ?? "?")")
        }
        guard use(source, request) else { return }
        // Without a grab the drag cannot start; with one, compositord cancels it (the spec lets
        // the compositor cancel a drag): either way its source learns so at once.
        let grab = state.seat.pointer.isButtonDown && state.seat.isInputSerial(serial, of: request.client)
        state.context.logger.debug("start_drag cancelled: \(grab ? "drag-and-drop is not implemented" : "no implicit grab matches the serial")", metadata: [
            "client": "\(state.context.describe(request.client))", "serial": "\(serial)",
        ])
        source?.cancel(replaced: false)
    }

    private func setSelection(_ request: Request, source sourceResource: OpaquePointer?, serial: UInt32) {
        let source = Resources.object(sourceResource, as: DataSource.self)
        if let source, source.actions != nil {
            // "Attempting to use the source other than for drag-and-drop will raise a protocol
            // error" (wl_data_source.set_actions); Weston and mutter post it on the source.
            return state.context.post(WlDataSourceError.invalidSource, on: source.resource ?? request.resource,
                                    "a drag-and-drop source (set_actions) cannot be the selection")
        }
        guard use(source, request) else { return }
        if let reason = state.selection.set(source, serial: serial, client: request.client) {
            // As peers do with stale serials: ignored, the source stays the client's.
            state.context.logger.debug("set_selection ignored: \(reason)", metadata: [
                "client": "\(state.context.describe(request.client))", "serial": "\(serial)",
            ])
        }
    }

    package func resourceDestroyed() {
        state.selection.remove(self)
    }
}
