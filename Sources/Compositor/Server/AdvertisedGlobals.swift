import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// A global compositord advertises, with the highest version it speaks.
public struct AdvertisedGlobal: Sendable, Equatable {
    public init(interface: String, version: UInt32) {
        self.interface = interface
        self.version = version
    }

    public let interface: String
    public let version: UInt32
}

/// One global compositord can offer: the one table both the creation of globals and the list
/// embedders read come from (`Server.globalDefinitions`).
package struct GlobalDefinition {
    package let interface: UnsafePointer<wl_interface>
    package let version: UInt32
    /// Offered only where the machine has what it needs: not claimed to the wlcs module.
    package let deviceDependent: Bool
    /// Whether this server offers it (always, unless device-dependent).
    package let isOffered: (Server) -> Bool
    package let bind: (Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) -> Void
    /// Set for a global made once per output (wl_output): binds that output's.
    package let bindOutput: ((Server, CompositorOutput, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) -> Void)?

    package init(_ interface: UnsafePointer<wl_interface>, _ version: UInt32, offeredWhen isOffered: ((Server) -> Bool)? = nil,
         bind: @escaping (Server, OpaquePointer, UInt32, UInt32) -> Void) {
        self.interface = interface
        self.version = version
        deviceDependent = isOffered != nil
        self.isOffered = isOffered ?? { _ in true }
        self.bind = bind
        bindOutput = nil
    }

    /// A global made once per output.
    package init(_ interface: UnsafePointer<wl_interface>, _ version: UInt32,
                 perOutput bind: @escaping (Server, CompositorOutput, OpaquePointer, UInt32, UInt32) -> Void) {
        self.interface = interface
        self.version = version
        deviceDependent = false
        isOffered = { _ in true }
        self.bind = { s, c, v, id in bind(s, s.outputs[0], c, v, id) }
        bindOutput = bind
    }

    package var name: String { String(cString: interface.pointee.name) }
}

extension Server {
    /// Every global, with the highest version compositord speaks, in advertisement order.
    /// (xdg_wm_base's v4 twin for quirky clients is made beside it: ClientQuirks.)
    package static var globalDefinitions: [GlobalDefinition] {
        [
            GlobalDefinition(cw_wl_compositor_v6(), WlCompositor.version) { s, c, v, id in WlCompositor.bind(s.compositorState, c, v, id) },
            GlobalDefinition(cw_wl_shm_interface(), WlShm.version) { s, c, v, id in WlShm.bind(s.shmState, c, v, id) },
            GlobalDefinition(cw_wl_output_interface(), WlOutput.version, perOutput: { _, o, c, v, id in WlOutput.bind(o.outputState, c, v, id) }),
            GlobalDefinition(cw_xdg_wm_base_interface(), XdgWmBase.version) { s, c, v, id in XdgWmBase.bind(s.xdgShellState, c, v, id) },
            GlobalDefinition(cw_zwp_linux_dmabuf_v1_interface(), LinuxDmabuf.version) { s, c, v, id in LinuxDmabuf.bind(s.linuxDmabufState, c, v, id) },
            GlobalDefinition(cw_zxdg_output_manager_v1_interface(), XdgOutputManager.version) { _, c, v, id in XdgOutputManager.bind(c, v, id) },
            GlobalDefinition(cw_zwlr_export_dmabuf_manager_v1_interface(), ExportDmabufManager.version) { s, c, v, id in ExportDmabufManager.bind(s.captureState, c, v, id) },
            GlobalDefinition(cw_zwlr_screencopy_manager_v1_interface(), ScreencopyManager.version) { s, c, v, id in ScreencopyManager.bind(s.captureState, c, v, id) },
            GlobalDefinition(cw_ext_output_image_capture_source_manager_v1_interface(), OutputImageCaptureSourceManager.version) { s, c, v, id in
                OutputImageCaptureSourceManager.bind(s.captureState, c, v, id)
            },
            GlobalDefinition(cw_ext_image_copy_capture_manager_v1_interface(), ImageCopyCaptureManager.version) { s, c, v, id in
                ImageCopyCaptureManager.bind(s.captureState, c, v, id)
            },
            GlobalDefinition(cw_ext_foreign_toplevel_list_v1_interface(), ForeignToplevelList.version) { s, c, v, id in
                ForeignToplevelListState.bind(s.xdgShellState.foreignToplevels, c, v, id)
            },
            GlobalDefinition(cw_zwlr_foreign_toplevel_manager_v1_interface(), WlrForeignToplevelManager.version) { s, c, v, id in
                ForeignToplevelListState.bindWlr(s.xdgShellState.foreignToplevels, c, v, id)
            },
            GlobalDefinition(cw_ext_foreign_toplevel_image_capture_source_manager_v1_interface(), ToplevelImageCaptureSourceManager.version) { s, c, v, id in
                ToplevelImageCaptureSourceManager.bind(s.xdgShellState.foreignToplevels, c, v, id)
            },
            GlobalDefinition(cw_zxdg_decoration_manager_v1_interface(), XdgDecorationManager.version) { s, c, v, id in
                XdgDecorationManager.bind(s.xdgShellState, c, v, id)
            },
            GlobalDefinition(cw_org_kde_kwin_server_decoration_manager_interface(), KdeServerDecorationManager.version) { _, c, v, id in
                KdeServerDecorationManager.bind(c, v, id)
            },
            GlobalDefinition(cw_wp_fractional_scale_manager_v1_interface(), FractionalScaleManager.version) { s, c, v, id in
                FractionalScaleState.bind(s.compositorState.fractionalScale, c, v, id)
            },
            GlobalDefinition(cw_zwp_relative_pointer_manager_v1_interface(), RelativePointerManager.version) { s, c, v, id in
                RelativePointerManager.bind(s.seatState, c, v, id)
            },
            GlobalDefinition(cw_zwp_keyboard_shortcuts_inhibit_manager_v1_interface(), ShortcutsInhibitManager.version) { s, c, v, id in
                ShortcutsInhibitManager.bind(s.seatState, c, v, id)
            },
            GlobalDefinition(cw_wp_single_pixel_buffer_manager_v1_interface(), SinglePixelBufferManager.version) { _, c, v, id in
                SinglePixelBufferManager.bind(c, v, id)
            },
            GlobalDefinition(cw_zwp_idle_inhibit_manager_v1_interface(), IdleInhibitManager.version) { _, c, v, id in IdleInhibitManager.bind(c, v, id) },
            GlobalDefinition(cw_zxdg_exporter_v2_interface(), XdgExporter.version) { s, c, v, id in
                XdgExporter.bind(s.xdgShellState.foreign, s, c, v, id)
            },
            GlobalDefinition(cw_zxdg_importer_v2_interface(), XdgImporter.version) { s, c, v, id in
                XdgImporter.bind(s.xdgShellState.foreign, s, c, v, id)
            },
            GlobalDefinition(cw_ext_transient_seat_manager_v1_interface(), TransientSeatManager.version) { _, c, v, id in
                TransientSeatManager.bind(c, v, id)
            },
            GlobalDefinition(cw_wl_seat_interface(), WlSeat.version) { s, c, v, id in WlSeat.bind(s.seatState, c, v, id) },
            GlobalDefinition(cw_wl_subcompositor_interface(), WlSubcompositor.version) { s, c, v, id in WlSubcompositor.bind(s.compositorState, c, v, id) },
            GlobalDefinition(cw_wp_viewporter_interface(), Viewporter.version) { s, c, v, id in Viewporter.bind(s, c, v, id) },
            GlobalDefinition(cw_wp_presentation_interface(), Presentation.version) { _, c, v, id in Presentation.bind(c, v, id) },
            GlobalDefinition(cw_wl_data_device_manager_interface(), DataDeviceManager.version) { s, c, v, id in DataDeviceManager.bind(s.dataDeviceState, c, v, id) },
            GlobalDefinition(cw_zwp_virtual_keyboard_manager_v1_interface(), VirtualKeyboardManager.version) { s, c, v, id in
                VirtualKeyboardManager.bind(s.virtualKeyboardState, c, v, id)
            },
            GlobalDefinition(cw_xdg_activation_v1_interface(), XdgActivation.version) { s, c, v, id in XdgActivation.bind(s.xdgActivationState, c, v, id) },
            GlobalDefinition(cw_zwlr_virtual_pointer_manager_v1_interface(), VirtualPointerManager.version) { s, c, v, id in
                VirtualPointerManager.bind(s.virtualPointerState, c, v, id)
            },
            GlobalDefinition(cw_zwp_primary_selection_device_manager_v1_interface(), PrimarySelectionDeviceManager.version) { s, c, v, id in
                PrimarySelectionDeviceManager.bind(s.primarySelectionState, c, v, id)
            },
            GlobalDefinition(cw_zwlr_data_control_manager_v1_interface(), DataControlManager.version) { s, c, v, id in
                DataControlManager.bind(s.dataControlState, c, v, id)
            },
            GlobalDefinition(cw_ext_data_control_manager_v1_interface(), ExtDataControlManager.version) { s, c, v, id in
                ExtDataControlManager.bind(s.dataControlState, c, v, id)
            },
            // Explicit sync needs a DRM device with timeline syncobjs (SyncobjDevice).
            GlobalDefinition(cw_wp_linux_drm_syncobj_manager_v1_interface(), LinuxDrmSyncobjManager.version,
                             offeredWhen: { $0.syncobjDevice != nil }) { s, c, v, id in
                guard let device = s.syncobjDevice else { return }
                LinuxDrmSyncobjManager.bind(s, device, c, v, id)
            },
        ]
    }

    /// The globals every compositord advertises, for embedders that describe the compositor
    /// without running one: the wlcs module claims these (tests of anything else are skipped).
    public static var advertisedGlobals: [AdvertisedGlobal] {
        globalDefinitions.filter { !$0.deviceDependent }.map { AdvertisedGlobal(interface: $0.name, version: $0.version) }
    }

    /// Globals advertised only where the machine has what they need.
    public static var deviceDependentGlobals: [AdvertisedGlobal] {
        globalDefinitions.filter(\.deviceDependent).map { AdvertisedGlobal(interface: $0.name, version: $0.version) }
    }
}

extension Server {
    /// The display's global filter: the one place that decides which client sees which global.
    /// libwayland applies it to `wl_registry.global` and to `wl_registry.bind` alike, so a hidden
    /// global cannot be bound by guessing its name (invalid_object).
    package func installGlobalFilter() {
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
        // --virtual-input deny: no client injects input.
        if configuration.virtualInput == .deny,
           let g = globals.first(where: { $0.is(global) }), VirtualInputPolicy.interfaces.contains(g.interfaceName) {
            return false
        }
        // Each client sees one xdg_wm_base: the v5 one, or the v4 one when a quirk says so.
        let v4 = clients.info(client)?.xdgWmBaseV4 ?? false
        if xdgWmBaseCompatibility?.is(global) == true { return v4 }
        if v4, let main = globals.first(where: { $0.interfaceName == "xdg_wm_base" }), main.is(global) { return false }
        return true
    }
}
