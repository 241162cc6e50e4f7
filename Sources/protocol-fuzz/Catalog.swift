import CWayland
import WaylandTestSupport

/// Every interface the fuzzer knows, read from the `wl_interface` tables compiled into CWayland
/// (the same ones compositord serves, including its own wl_compositor/wl_surface v6 tables).
enum Catalog {
    static let interfaces: [String: InterfaceSpec] = {
        let tables: [UnsafePointer<wl_interface>] = [
            cw_wl_display_interface(), cw_wl_registry_interface(), cw_wl_callback_interface(),
            cw_wl_shm_pool_interface(), cw_wl_shm_interface(), cw_wl_buffer_interface(),
            cw_wl_data_offer_interface(), cw_wl_data_source_interface(), cw_wl_data_device_interface(),
            cw_wl_data_device_manager_interface(), cw_wl_seat_interface(), cw_wl_pointer_interface(),
            cw_wl_keyboard_interface(), cw_wl_touch_interface(), cw_wl_output_interface(),
            cw_wl_region_interface(), cw_wl_subcompositor_interface(), cw_wl_subsurface_interface(),
            cw_zwp_linux_dmabuf_v1_interface(), cw_zwp_linux_buffer_params_v1_interface(),
            cw_zwp_linux_dmabuf_feedback_v1_interface(), cw_wp_presentation_interface(),
            cw_wp_presentation_feedback_interface(), cw_wp_viewporter_interface(), cw_wp_viewport_interface(),
            cw_zwlr_export_dmabuf_manager_v1_interface(), cw_zwlr_export_dmabuf_frame_v1_interface(),
            cw_zwlr_screencopy_manager_v1_interface(), cw_zwlr_screencopy_frame_v1_interface(),
            cw_zxdg_output_manager_v1_interface(), cw_zxdg_output_v1_interface(), cw_xdg_wm_base_interface(),
            cw_xdg_positioner_interface(), cw_xdg_surface_interface(), cw_xdg_toplevel_interface(),
            cw_xdg_popup_interface(),
            cw_ext_image_capture_source_v1_interface(), cw_ext_output_image_capture_source_manager_v1_interface(),
            cw_ext_image_copy_capture_manager_v1_interface(), cw_ext_image_copy_capture_session_v1_interface(),
            cw_ext_image_copy_capture_frame_v1_interface(), cw_ext_image_copy_capture_cursor_session_v1_interface(),
            cw_ext_foreign_toplevel_list_v1_interface(), cw_ext_foreign_toplevel_handle_v1_interface(),
            cw_ext_foreign_toplevel_image_capture_source_manager_v1_interface(),
            cw_zwp_virtual_keyboard_manager_v1_interface(), cw_zwp_virtual_keyboard_v1_interface(),
            cw_zwlr_virtual_pointer_manager_v1_interface(), cw_zwlr_virtual_pointer_v1_interface(),
            cw_xdg_activation_v1_interface(), cw_xdg_activation_token_v1_interface(),
            cw_zwlr_data_control_manager_v1_interface(), cw_zwlr_data_control_device_v1_interface(),
            cw_zwlr_data_control_source_v1_interface(), cw_zwlr_data_control_offer_v1_interface(),
            cw_zwp_primary_selection_device_manager_v1_interface(), cw_zwp_primary_selection_device_v1_interface(),
            cw_zwp_primary_selection_source_v1_interface(), cw_zwp_primary_selection_offer_v1_interface(),
            cw_ext_data_control_manager_v1_interface(), cw_ext_data_control_device_v1_interface(),
            cw_ext_data_control_source_v1_interface(), cw_ext_data_control_offer_v1_interface(),
            cw_zxdg_decoration_manager_v1_interface(), cw_zxdg_toplevel_decoration_v1_interface(),
            cw_org_kde_kwin_server_decoration_manager_interface(), cw_org_kde_kwin_server_decoration_interface(),
            cw_wp_single_pixel_buffer_manager_v1_interface(), cw_zwp_idle_inhibit_manager_v1_interface(), cw_zwp_idle_inhibitor_v1_interface(),
            cw_zxdg_exporter_v2_interface(), cw_zxdg_exported_v2_interface(), cw_zxdg_importer_v2_interface(), cw_zxdg_imported_v2_interface(),
            cw_ext_transient_seat_manager_v1_interface(), cw_ext_transient_seat_v1_interface(),
            cw_zwlr_foreign_toplevel_manager_v1_interface(), cw_zwlr_foreign_toplevel_handle_v1_interface(),
            cw_wp_fractional_scale_manager_v1_interface(), cw_wp_fractional_scale_v1_interface(),
            cw_zwp_relative_pointer_manager_v1_interface(), cw_zwp_relative_pointer_v1_interface(),
            cw_zwp_keyboard_shortcuts_inhibit_manager_v1_interface(), cw_zwp_keyboard_shortcuts_inhibitor_v1_interface(),
            // compositord's v6 tables (libwayland 1.21's stop at 5).
            cw_wl_compositor_v6(), cw_wl_surface_v6(),
        ]
        var all: [String: InterfaceSpec] = [:]
        for table in tables {
            let spec = read(table.pointee)
            all[spec.name] = spec
        }
        return all
    }()

    static func interface(_ name: String) -> InterfaceSpec? { interfaces[name] }

    private static func read(_ i: wl_interface) -> InterfaceSpec {
        func messages(_ base: UnsafePointer<wl_message>?, _ count: Int32) -> [MessageSpec] {
            guard let base else { return [] }
            return (0..<Int(count)).map { message(base[$0]) }
        }
        return InterfaceSpec(
            name: String(cString: i.name), version: UInt32(i.version),
            requests: messages(i.methods, i.method_count), events: messages(i.events, i.event_count))
    }

    /// Parses "2?ou" style signatures (`MessageSpec(name:signature:types:)`).
    private static func message(_ m: wl_message) -> MessageSpec {
        MessageSpec(name: String(cString: m.name), signature: String(cString: m.signature)) { i in
            m.types?[i].flatMap { $0.pointee.name.map { String(cString: $0) } }
        }
    }
}
