import CWayland

/// A global compositord advertises, with the highest version it speaks.
public struct AdvertisedGlobal: Sendable, Equatable {
    public init(interface: String, version: UInt32) {
        self.interface = interface
        self.version = version
    }

    public let interface: String
    public let version: UInt32
}

extension Server {
    /// Every global `createGlobals` creates, in one list that embedders can read without a
    /// running server: the wlcs module describes the compositor with it (tests of anything not
    /// listed are skipped, not failed). `createGlobals` logs an error for a global it creates
    /// that is missing here or listed with another version, so keep the two in step.
    public static let advertisedGlobals: [AdvertisedGlobal] = [
        AdvertisedGlobal(interface: "wl_compositor", version: WlCompositor.version),
        AdvertisedGlobal(interface: "wl_shm", version: WlShm.version),
        AdvertisedGlobal(interface: "wl_output", version: WlOutput.version),
        AdvertisedGlobal(interface: "xdg_wm_base", version: XdgWmBase.version),
        AdvertisedGlobal(interface: "zwp_linux_dmabuf_v1", version: LinuxDmabuf.version),
        AdvertisedGlobal(interface: "zxdg_output_manager_v1", version: XdgOutputManager.version),
        AdvertisedGlobal(interface: "zwlr_export_dmabuf_manager_v1", version: ExportDmabufManager.version),
        AdvertisedGlobal(interface: "zwlr_screencopy_manager_v1", version: ScreencopyManager.version),
        AdvertisedGlobal(interface: "wl_seat", version: WlSeat.version),
        AdvertisedGlobal(interface: "wl_subcompositor", version: WlSubcompositor.version),
        AdvertisedGlobal(interface: "wp_viewporter", version: Viewporter.version),
        AdvertisedGlobal(interface: "wl_data_device_manager", version: DataDeviceManager.version),
        AdvertisedGlobal(interface: "wp_presentation", version: Presentation.version),
    ]

    /// Globals advertised only where the machine has what they need (not claimed to the wlcs
    /// module): explicit sync needs a DRM device with timeline syncobjs (SyncobjDevice).
    public static let deviceDependentGlobals: [AdvertisedGlobal] = [
        AdvertisedGlobal(interface: "wp_linux_drm_syncobj_manager_v1", version: LinuxDrmSyncobjManager.version),
    ]
}

extension Server {
    /// The display's global filter: the one place that decides which client sees which global.
    /// libwayland applies it to `wl_registry.global` and to `wl_registry.bind` alike, so a hidden
    /// global cannot be bound by guessing its name (invalid_object).
    func installGlobalFilter() {
        let filter: wl_display_global_filter_func_t = { client, global, data in
            guard let client, let data else { return true }
            let server = Unmanaged<Server>.fromOpaque(data).takeUnretainedValue()
            return server.isVisible(global, to: client)
        }
        wl_display_set_global_filter(display, filter, Unmanaged.passUnretained(self).toOpaque())
    }

    private func isVisible(_ global: OpaquePointer?, to client: OpaquePointer) -> Bool {
        // --capture deny: the output's pixels go to no client.
        if configuration.capture == .deny,
           let g = globals.first(where: { $0.is(global) }), CapturePolicy.interfaces.contains(g.interfaceName) {
            return false
        }
        // Each client sees one xdg_wm_base: the v5 one, or the v4 one when a quirk says so.
        let v4 = clients.info(client)?.xdgWmBaseV4 ?? false
        if xdgWmBaseCompatibility?.is(global) == true { return v4 }
        if v4, let main = globals.first(where: { $0.interfaceName == "xdg_wm_base" }), main.is(global) { return false }
        return true
    }
}
