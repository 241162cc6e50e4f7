import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// One output's wl_output state: the output it describes, its index in the scene's layout (the
/// bit of `Surface.outputMask`), the bound wl_output resources (for wl_surface.enter and leave),
/// and the scene (surfaces already on it enter a newly bound wl_output).
package final class OutputState {
    package let output: Output
    package let index: Int
    private let scene: Scene
    /// Bound wl_output resources.
    package var bound: [WlOutput] = []

    package init(output: Output, index: Int, scene: Scene) {
        self.output = output
        self.index = index
        self.scene = scene
    }

    private var bit: UInt64 { index < 64 ? 1 << UInt64(index) : 0 }

    /// wl_surface.enter when a surface starts overlapping this output, leave when it stops.
    package func outputsChanged(_ surface: Surface, entered: UInt64, left: UInt64) {
        guard (entered | left) & bit != 0, let resource = surface.resource else { return }
        let client = wl_resource_get_client(resource)
        for output in bound where output.client == client {
            if entered & bit != 0 { wl_surface_send_enter(resource, output.resource) } else { wl_surface_send_leave(resource, output.resource) }
        }
    }

    /// Surfaces of `client` already on this output enter `resource`, the wl_output it just bound.
    fileprivate func enterShownSurfaces(of client: OpaquePointer, _ resource: OpaquePointer) {
        scene.forEachSurface { surface, _, _ in
            if surface.outputMask & bit != 0, let s = surface.resource, wl_resource_get_client(s) == client {
                wl_surface_send_enter(s, resource)
            }
        }
    }
}

/// `wl_output` v4: one headless output's position in the layout, transform, mode, scale, name and
/// description. Each output is its own global.
package final class WlOutput: ResourceHandler {
    package static let version: UInt32 = 4
    private let state: OutputState
    package let resource: OpaquePointer

    package init(state: OutputState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package var client: OpaquePointer { wl_resource_get_client(resource) }
    /// The output this wl_output names (capture_output, set_fullscreen, get_xdg_output).
    package var output: Output { state.output }

    /// The output a wl_output resource names, nil if it is not one of ours.
    package static func output(of resource: OpaquePointer?) -> Output? {
        resource.flatMap { Resources.object($0, as: WlOutput.self) }?.output
    }

    package static func bind(_ state: OutputState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_wl_output_interface(), version: version, id: id, handler: { r in
            WlOutput(state: state, resource: r)
        }) else { return }
        let output = state.output
        // A headless output has no physical size and no subpixel layout.
        wl_output_send_geometry(r, output.placement.x, output.placement.y, 0, 0, Int32(WL_OUTPUT_SUBPIXEL_UNKNOWN.rawValue),
                                "compositord", "headless", output.placement.transform.rawValue)
        wl_output_send_mode(r, WL_OUTPUT_MODE_CURRENT.rawValue | WL_OUTPUT_MODE_PREFERRED.rawValue,
                            output.width, output.height, output.refreshMilliHz)
        if version >= 2 { wl_output_send_scale(r, output.placement.scale) }
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
