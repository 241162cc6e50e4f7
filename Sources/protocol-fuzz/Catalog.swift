import CWayland

/// One argument of a message, from its signature character and `types` entry.
struct ArgumentSpec: Sendable {
    /// The signature character: i u f s o n a h.
    let type: UInt8
    let nullable: Bool
    /// The interface of an `o` or `n` argument (nil: any, or wl_registry.bind's dynamic new_id).
    let interface: String?
}

/// One request or event, as libwayland's `wl_message` tables describe it.
struct MessageSpec: Sendable {
    let name: String
    let since: UInt32
    let arguments: [ArgumentSpec]
    /// The tables do not mark destructors; in every protocol compositord speaks they are the
    /// requests named destroy or release.
    var isDestructor: Bool { name == "destroy" || name == "release" }
}

final class InterfaceSpec: Sendable {
    let name: String
    let version: UInt32
    let requests: [MessageSpec]
    let events: [MessageSpec]

    init(name: String, version: UInt32, requests: [MessageSpec], events: [MessageSpec]) {
        self.name = name
        self.version = version
        self.requests = requests
        self.events = events
    }

    func request(named name: String) -> (opcode: Int, spec: MessageSpec)? {
        guard let i = requests.firstIndex(where: { $0.name == name }) else { return nil }
        return (i, requests[i])
    }
}

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

    /// Parses "2?ou" style signatures: leading digits are the version the message appeared in.
    private static func message(_ m: wl_message) -> MessageSpec {
        var since: UInt32 = 0
        var arguments: [ArgumentSpec] = []
        var nullable = false
        for c in String(cString: m.signature).utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                since = since * 10 + UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "?"):
                nullable = true
            default:
                let type = m.types?[arguments.count]
                let name = type.flatMap { $0.pointee.name.map { String(cString: $0) } }
                arguments.append(ArgumentSpec(type: c, nullable: nullable, interface: name))
                nullable = false
            }
        }
        return MessageSpec(name: String(cString: m.name), since: max(since, 1), arguments: arguments)
    }
}
