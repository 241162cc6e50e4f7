import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `zxdg_output_manager_v1` v3: each output's logical position and size in the layout, name and
/// description, so grim and friends find them.
package final class XdgOutputManager: ResourceHandler {
    package static let version: UInt32 = 3

    package init() {}

    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zxdg_output_manager_v1_interface(), version: version, id: id) { _ in
            XdgOutputManager()
        }
    }

    package func handle(_ request: Request) {
        switch ZxdgOutputManagerV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .getXdgOutput(id, wlOutput)?:
            guard let r = Resources.create(client: request.client, interface: cw_zxdg_output_v1_interface(),
                                           version: request.version, id: id, handler: { _ in XdgOutput() }) else { return }
            // Every wl_output is one of ours (libwayland checked the type); none is ever removed.
            guard let output = WlOutput.output(of: wlOutput) else { return }
            let layout = output.layout
            zxdg_output_v1_send_logical_position(r, layout.x, layout.y)
            zxdg_output_v1_send_logical_size(r, layout.width, layout.height)
            if request.version >= 2 {
                zxdg_output_v1_send_name(r, output.name)
                zxdg_output_v1_send_description(r, output.description)
            }
            // Since v3 the atomic "done" is wl_output's; before, xdg_output's own.
            if request.version >= 3 {
                if wl_resource_get_version(wlOutput) >= 2 { wl_output_send_done(wlOutput) }
            } else {
                zxdg_output_v1_send_done(r)
            }
        case nil: break
        }
    }
}

/// `zxdg_output_v1`: everything is sent at creation; the only request is destroy.
package final class XdgOutput: ResourceHandler {
    package func handle(_ request: Request) {
        if case .destroy? = ZxdgOutputV1Request(request) { wl_resource_destroy(request.resource) }
    }
}
