import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// The wl_output family's state: the output it describes, the bound wl_output resources (for
/// wl_surface.enter and leave), and the scene (surfaces already shown enter a newly bound output).
package final class OutputState {
    package let output: Output
    private let scene: Scene
    /// Bound wl_output resources.
    package var bound: [WlOutput] = []

    package init(output: Output, scene: Scene) {
        self.output = output
        self.scene = scene
    }

    /// wl_surface.enter when a surface appears on the (only) output, leave when it goes.
    package func membershipChanged(_ surface: Surface, entered: Bool) {
        guard let resource = surface.resource else { return }
        let client = wl_resource_get_client(resource)
        for output in bound where output.client == client {
            if entered { wl_surface_send_enter(resource, output.resource) } else { wl_surface_send_leave(resource, output.resource) }
        }
    }

    /// Surfaces of `client` already on screen enter `resource`, the output it just bound.
    fileprivate func enterShownSurfaces(of client: OpaquePointer, _ resource: OpaquePointer) {
        scene.forEachSurface { surface, _, _ in
            if let s = surface.resource, wl_resource_get_client(s) == client { wl_surface_send_enter(s, resource) }
        }
    }
}

/// `wl_output` v4: the one headless output's geometry, mode, scale, name and description.
package final class WlOutput: ResourceHandler {
    package static let version: UInt32 = 4
    private let state: OutputState
    package let resource: OpaquePointer

    package init(state: OutputState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package var client: OpaquePointer { wl_resource_get_client(resource) }

    package static func bind(_ state: OutputState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_wl_output_interface(), version: version, id: id, handler: { r in
            WlOutput(state: state, resource: r)
        }) else { return }
        let output = state.output
        // A headless output has no physical size and no subpixel layout.
        wl_output_send_geometry(r, 0, 0, 0, 0, Int32(WL_OUTPUT_SUBPIXEL_UNKNOWN.rawValue), "compositord", "headless",
                                Int32(WL_OUTPUT_TRANSFORM_NORMAL.rawValue))
        wl_output_send_mode(r, WL_OUTPUT_MODE_CURRENT.rawValue | WL_OUTPUT_MODE_PREFERRED.rawValue,
                            output.width, output.height, output.refreshMilliHz)
        if version >= 2 { wl_output_send_scale(r, 1) }
        if version >= 4 {
            wl_output_send_name(r, output.name)
            wl_output_send_description(r, output.description)
        }
        if version >= 2 { wl_output_send_done(r) }
        guard let output = Resources.object(r, as: WlOutput.self) else { return }
        state.bound.append(output)
        state.enterShownSurfaces(of: client, r)
    }

    package func resourceDestroyed() {
        state.bound.removeAll { $0 === self }
    }

    package func handle(_ request: Request) {
        if case .release? = WlOutputRequest(request) { wl_resource_destroy(request.resource) }
    }
}
