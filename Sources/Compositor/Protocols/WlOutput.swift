import CWayland

/// `wl_output` v4: the one headless output's geometry, mode, scale, name and description.
final class WlOutput: ResourceHandler {
    static let version: UInt32 = 4
    private unowned let server: Server
    let resource: OpaquePointer

    init(server: Server, resource: OpaquePointer) {
        self.server = server
        self.resource = resource
    }

    var client: OpaquePointer { wl_resource_get_client(resource) }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_wl_output_interface(), version: version, id: id, handler: { r in
            WlOutput(server: server, resource: r)
        }) else { return }
        let output = server.output
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
        server.outputs.append(output)
        // Surfaces of this client already on screen enter the output it just bound.
        server.scene.forEachSurface { surface, _, _ in
            if let s = surface.resource, wl_resource_get_client(s) == client { wl_surface_send_enter(s, r) }
        }
    }

    func resourceDestroyed() {
        server.outputs.removeAll { $0 === self }
    }

    func handle(_ request: Request) {
        if Int32(request.opcode) == WL_OUTPUT_RELEASE { wl_resource_destroy(request.resource) }
    }
}
