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
}
