import Glibc
import WaylandTestSupport

/// Arguments an honest client would send for the requests that need more than "a value of the
/// right type" to get anywhere: sizes that fit the pool, the serial of the last configure,
/// positioners that are complete, buffers of the size a capture asked for. Without them the
/// random phase would end at the first bounds check and never reach the deep states.
extension TypedSession {
    private func i(_ range: ClosedRange<Int>) -> WireValue { .int(Int32(rng.int(range))) }
    private func u(_ range: ClosedRange<Int>) -> WireValue { .uint(UInt32(rng.int(range))) }
    private func live(_ interface: String, excluding: UInt32? = nil) -> WireValue {
        guard let id = pickLive(interface, excluding: excluding) else {
            missingObject = true
            return .object(0)
        }
        return .object(id)
    }
    /// For nullable arguments: sometimes null, else a live object if there is one.
    private func maybe(_ interface: String) -> WireValue { rng.chance(0.3) ? .object(0) : .object(pickLive(interface) ?? 0) }
    private var serial: WireValue { .uint(serials.last ?? 0) }
    private func fixed(_ range: ClosedRange<Int>) -> WireValue { .fixed(Int32(rng.int(range) * 256)) }

    /// A sealed memfd for a pool or dma-buf plane; a `growable` one is remembered so that the
    /// pool made from it can be grown honestly (`wl_shm_pool.resize`).
    func poolFd(size: Int, growable: Bool = false) -> WireValue {
        // Now and then a file that cannot be sealed (shm_open-like: accepted under the default
        // policy and read under the SIGBUS guard), or one on disk (a capture target only under the
        // default: screencopy writes it off the main thread, an attach is an error; accepted and
        // guarded under guard), and later maybe truncated.
        let kind: FdFactory.Kind = growable && rng.chance(0.15) ? rng.pick([.shmFile, .regularFile]) : .sealedMemfd
        guard let f = fds.make(kind, size: size) else { return .fd(-1, kind: "none") }
        if growable {
            if let old = pendingPoolFile { Glibc.close(old) }
            pendingPoolFile = fcntl(f.fd, F_DUPFD_CLOEXEC, 3)
        }
        return .fd(f.fd, kind: f.kind)
    }

    func sensibleArguments(_ object: ObjectEntry, _ spec: MessageSpec) -> [WireValue]? {
        let id = object.id
        switch (object.interface.name, spec.name) {
        case ("wl_display", "sync"), ("wl_display", "get_registry"): return [.freshID]
        case ("wl_registry", "bind"):
            guard !globals.isEmpty else { return nil }
            let g = rng.pick(globals)
            return [.uint(g.name), .string(Array(g.interface.utf8)), .uint(UInt32(rng.int(1...Int(max(1, g.version))))), .freshID]
        case ("wl_shm", "create_pool"):
            let size = rng.pick([4096, 65536, 262_144, 1 << 20])
            return [.freshID, poolFd(size: size, growable: true), .int(Int32(rng.chance(0.97) ? size : size + 4096))]
        case ("wl_shm_pool", "create_buffer"):
            let poolSize = attribute(id, "size") ?? 4096
            var w = rng.pick([1, 16, 32, 64, 100, 128, 256]), h = rng.pick([1, 16, 32, 64, 100, 128, 256])
            while w * h * 4 > poolSize, w > 1 || h > 1 { if w >= h { w /= 2 } else { h /= 2 } }
            let offset = rng.chance(0.8) ? 0 : poolSize - w * h * 4
            return [.freshID, .int(Int32(truncatingIfNeeded: offset)), .int(Int32(w)), .int(Int32(h)), .int(Int32(w * 4)), .uint(UInt32(rng.pick([0, 1, 0x3432_4258])))]
        case ("wl_shm_pool", "resize"):
            // An honest client grows the file first (the seals allow growing), then the pool.
            let size = attribute(id, "size") ?? 4096
            guard rng.chance(0.7), size > 0, size <= 4 << 20, let file = poolFiles[id] else { return [.int(Int32(truncatingIfNeeded: size))] }
            _ = ftruncate(file, off_t(size * 2))
            return [.int(Int32(truncatingIfNeeded: size * 2))]
        case ("wl_surface", "attach"):
            return [rng.chance(0.15) ? .object(0) : maybe("wl_buffer"), .int(0), .int(0)]
        case ("wl_surface", "damage"), ("wl_surface", "damage_buffer"):
            return [i(0...32), i(0...32), i(1...300), i(1...300)]
        case ("wl_surface", "set_buffer_transform"): return [i(0...7)]
        case ("wl_surface", "set_buffer_scale"): return [i(1...3)]
        case ("wl_surface", "offset"): return [i(-8...8), i(-8...8)]
        case ("wl_surface", "set_opaque_region"), ("wl_surface", "set_input_region"): return [maybe("wl_region")]
        case ("wl_region", "add"), ("wl_region", "subtract"): return [i(-50...300), i(-50...300), i(0...300), i(0...300)]
        case ("wl_subcompositor", "get_subsurface"):
            guard let surface = pickLive("wl_surface") else { return nil }
            return [.freshID, .object(surface), live("wl_surface", excluding: surface)]
        case ("wl_subsurface", "set_position"): return [i(-64...300), i(-64...300)]
        case ("wl_subsurface", "place_above"), ("wl_subsurface", "place_below"):
            return [live("wl_surface", excluding: attribute(id, "surface").map(UInt32.init))]
        case ("xdg_wm_base", "get_xdg_surface"): return [.freshID, live("wl_surface")]
        case ("xdg_wm_base", "pong"): return [.uint(UInt32(attribute(id, "ping") ?? 0))]
        case ("xdg_positioner", "set_size"): return [i(1...300), i(1...300)]
        case ("xdg_positioner", "set_anchor_rect"): return [i(-20...200), i(-20...200), i(1...200), i(1...200)]
        case ("xdg_positioner", "set_anchor"), ("xdg_positioner", "set_gravity"): return [u(0...8)]
        case ("xdg_positioner", "set_constraint_adjustment"): return [u(0...63)]
        case ("xdg_positioner", "set_offset"): return [i(-50...50), i(-50...50)]
        case ("xdg_positioner", "set_parent_size"): return [i(1...800), i(1...800)]
        case ("xdg_positioner", "set_parent_configure"): return [serial]
        case ("xdg_surface", "get_popup"): return [.freshID, maybe("xdg_surface"), live("xdg_positioner")]
        case ("xdg_surface", "set_window_geometry"): return [i(0...16), i(0...16), i(1...300), i(1...300)]
        case ("xdg_surface", "ack_configure"): return [.uint(UInt32(attribute(id, "serial") ?? 0))]
        case ("xdg_toplevel", "set_parent"): return [rng.chance(0.3) ? .object(0) : .object(pickLive("xdg_toplevel", excluding: id) ?? 0)]
        case ("xdg_toplevel", "show_window_menu"): return [live("wl_seat"), serial, i(0...100), i(0...100)]
        case ("xdg_toplevel", "move"): return [live("wl_seat"), serial]
        case ("xdg_toplevel", "resize"): return [live("wl_seat"), serial, .uint(rng.pick([0, 1, 2, 4, 5, 6, 8, 9, 10, 3]))]
        case ("xdg_toplevel", "set_max_size"), ("xdg_toplevel", "set_min_size"): return [i(0...500), i(0...500)]
        case ("xdg_toplevel", "set_fullscreen"): return [maybe("wl_output")]
        case ("xdg_popup", "grab"): return [live("wl_seat"), serial]
        case ("xdg_popup", "reposition"): return [live("xdg_positioner"), u(0...100)]
        case ("wp_viewporter", "get_viewport"): return [.freshID, live("wl_surface")]
        case ("wp_viewport", "set_source"):
            if rng.chance(0.2) { return [.fixed(-256), .fixed(-256), .fixed(-256), .fixed(-256)] }
            return [fixed(0...32), fixed(0...32), fixed(1...128), fixed(1...128)]
        case ("wp_viewport", "set_destination"):
            return rng.chance(0.2) ? [.int(-1), .int(-1)] : [i(1...400), i(1...400)]
        case ("wp_presentation", "feedback"): return [live("wl_surface"), .freshID]
        case ("zxdg_output_manager_v1", "get_xdg_output"): return [.freshID, live("wl_output")]
        case ("zwlr_screencopy_manager_v1", "capture_output"), ("zwlr_export_dmabuf_manager_v1", "capture_output"):
            return [.freshID, i(0...1), live("wl_output")]
        case ("zwlr_screencopy_manager_v1", "capture_output_region"):
            return [.freshID, i(0...1), live("wl_output"), i(-10...outputSize.width), i(-10...outputSize.height),
                    i(1...outputSize.width), i(1...outputSize.height)]
        case ("zwlr_screencopy_frame_v1", "copy"), ("zwlr_screencopy_frame_v1", "copy_with_damage"):
            // The buffer the frame asked for, if the session has one of that size.
            let fitting = live.filter {
                connection.objects[$0]?.interface.name == "wl_buffer" && connection.objects[$0]?.destroyedByClient == false
                    && attribute($0, "width") == attribute(id, "width") && attribute($0, "height") == attribute(id, "height")
            }
            return [fitting.isEmpty || rng.chance(0.1) ? live("wl_buffer") : .object(rng.pick(fitting))]
        case ("ext_output_image_capture_source_manager_v1", "create_source"): return [.freshID, live("wl_output")]
        case ("zxdg_decoration_manager_v1", "get_toplevel_decoration"): return [.freshID, live("xdg_toplevel")]
        case ("wp_single_pixel_buffer_manager_v1", "create_u32_rgba_buffer"):
            return [.freshID, u(0...Int(UInt32.max)), u(0...Int(UInt32.max)), u(0...Int(UInt32.max)), u(0...Int(UInt32.max))]
        case ("zwp_idle_inhibit_manager_v1", "create_inhibitor"), ("zxdg_exporter_v2", "export_toplevel"): return [.freshID, live("wl_surface")]
        case ("zxdg_importer_v2", "import_toplevel"): return [.freshID, .string(Array(String(rng.int(0...1 << 30), radix: 16).utf8))]
        case ("zxdg_imported_v2", "set_parent_of"): return [live("wl_surface")]
        case ("wp_fractional_scale_manager_v1", "get_fractional_scale"): return [.freshID, live("wl_surface")]
        case ("zwp_relative_pointer_manager_v1", "get_relative_pointer"): return [.freshID, live("wl_pointer")]
        case ("zwp_keyboard_shortcuts_inhibit_manager_v1", "inhibit_shortcuts"): return [.freshID, live("wl_surface"), live("wl_seat")]
        case ("zwlr_foreign_toplevel_handle_v1", "activate"): return [live("wl_seat")]
        case ("zwlr_foreign_toplevel_handle_v1", "set_fullscreen"): return [maybe("wl_output")]
        case ("zwlr_foreign_toplevel_handle_v1", "set_rectangle"):
            return [live("wl_surface"), i(-10...300), i(-10...300), i(-5...300), i(-5...300)]
        case ("zxdg_toplevel_decoration_v1", "set_mode"), ("org_kde_kwin_server_decoration", "request_mode"): return [u(0...3)]
        case ("org_kde_kwin_server_decoration_manager", "create"): return [.freshID, live("wl_surface")]
        case ("ext_foreign_toplevel_image_capture_source_manager_v1", "create_source"):
            return [.freshID, live("ext_foreign_toplevel_handle_v1")]
        case ("ext_image_copy_capture_manager_v1", "create_session"):
            return [.freshID, live("ext_image_capture_source_v1"), rng.chance(0.1) ? u(0...7) : u(0...1)]
        case ("ext_image_copy_capture_manager_v1", "create_pointer_cursor_session"):
            return [.freshID, live("ext_image_capture_source_v1"), live("wl_pointer")]
        case ("ext_image_copy_capture_frame_v1", "damage_buffer"):
            if rng.chance(0.1) { return [i(-5...0), i(-5...0), i(-5...0), i(-5...0)] }
            return [i(0...outputSize.width), i(0...outputSize.height), i(1...outputSize.width), i(1...outputSize.height)]
        case ("zwp_linux_dmabuf_v1", "get_surface_feedback"): return [.freshID, live("wl_surface")]
        case ("zwp_linux_buffer_params_v1", "add"):
            return [poolFd(size: 65536), u(0...1), .uint(0), .uint(256), .uint(0), .uint(0)]
        case ("zwp_linux_buffer_params_v1", "create"): return [i(1...64), i(1...64), .uint(0x3432_5258), .uint(0)]
        case ("zwp_linux_buffer_params_v1", "create_immed"): return [.freshID, i(1...64), i(1...64), .uint(0x3432_5258), .uint(0)]
        case ("wl_data_device_manager", "get_data_device"): return [.freshID, live("wl_seat")]
        case ("wl_data_source", "offer"): return [.string(Array(rng.pick(["text/plain", "text/uri-list", "image/png"]).utf8))]
        case ("wl_data_source", "set_actions"): return [u(0...7)]
        case ("wl_data_device", "set_selection"): return [maybe("wl_data_source"), serial]
        case ("wl_data_device", "start_drag"): return [maybe("wl_data_source"), live("wl_surface"), maybe("wl_surface"), serial]
        case ("wl_pointer", "set_cursor"): return [serial, maybe("wl_surface"), i(0...16), i(0...16)]
        case ("zwlr_data_control_manager_v1", "get_data_device"), ("ext_data_control_manager_v1", "get_data_device"): return [.freshID, live("wl_seat")]
        case ("zwlr_data_control_source_v1", "offer"), ("ext_data_control_source_v1", "offer"):
            return [.string(Array(rng.pick(["text/plain", "text/uri-list", "image/png"]).utf8))]
        case ("zwlr_data_control_device_v1", "set_selection"): return [maybe("zwlr_data_control_source_v1")]
        case ("zwp_primary_selection_device_manager_v1", "get_device"): return [.freshID, live("wl_seat")]
        case ("zwp_primary_selection_source_v1", "offer"): return [.string(Array(rng.pick(["text/plain", "UTF8_STRING"]).utf8))]
        case ("zwp_primary_selection_device_v1", "set_selection"): return [maybe("zwp_primary_selection_source_v1"), serial]
        case ("ext_data_control_device_v1", "set_selection"), ("ext_data_control_device_v1", "set_primary_selection"):
            return [maybe("ext_data_control_source_v1")]
        case ("wl_data_offer", "receive"), ("zwlr_data_control_offer_v1", "receive"), ("ext_data_control_offer_v1", "receive"),
             ("zwp_primary_selection_offer_v1", "receive"):
            // The write end of a pipe, as a paste sends (the source writes into it).
            let f = fds.make(.pipeWrite, size: 0)
            return [.string(Array(rng.pick(["text/plain", "text/uri-list", "image/png"]).utf8)), .fd(f?.fd ?? -1, kind: f?.kind ?? "none")]
        case ("xdg_activation_token_v1", "set_serial"): return [serial, live("wl_seat")]
        case ("xdg_activation_token_v1", "set_surface"): return [live("wl_surface")]
        case ("xdg_activation_v1", "activate"): return [.string(Array((rng.chance(0.5) ? "0-0" : "not-a-token").utf8)), live("wl_surface")]
        case ("zwlr_virtual_pointer_manager_v1", "create_virtual_pointer"): return [maybe("wl_seat"), .freshID]
        case ("zwlr_virtual_pointer_manager_v1", "create_virtual_pointer_with_output"): return [maybe("wl_seat"), maybe("wl_output"), .freshID]
        case ("zwlr_virtual_pointer_v1", "motion"): return [u(0...1_000_000), fixed(-50...50), fixed(-50...50)]
        case ("zwlr_virtual_pointer_v1", "motion_absolute"):
            return [u(0...1_000_000), u(0...2000), u(0...2000), rng.chance(0.1) ? .uint(0) : u(1...2000), rng.chance(0.1) ? .uint(0) : u(1...2000)]
        case ("zwlr_virtual_pointer_v1", "button"): return [u(0...1_000_000), .uint(UInt32(rng.pick([0x110, 0x111, 0x112]))), u(0...1)]
        case ("zwlr_virtual_pointer_v1", "axis"): return [u(0...1_000_000), rng.chance(0.95) ? u(0...1) : u(2...5), fixed(-20...20)]
        case ("zwlr_virtual_pointer_v1", "axis_source"): return [rng.chance(0.95) ? u(0...3) : u(4...9)]
        case ("zwp_virtual_keyboard_manager_v1", "create_virtual_keyboard"): return [live("wl_seat"), .freshID]
        case ("zwp_virtual_keyboard_v1", "keymap"): return keymapArguments()
        case ("zwp_virtual_keyboard_v1", "key"): return [u(0...1_000_000), rng.chance(0.9) ? u(1...3) : u(0...0x1_0000), rng.chance(0.95) ? u(0...1) : u(2...3)]
        case ("zwp_virtual_keyboard_v1", "modifiers"): return [u(0...255), u(0...3), u(0...3), u(0...4)]
        default: return nil
        }
    }

    /// zwp_virtual_keyboard_v1.keymap: mostly a keymap that compiles, else one that is not what
    /// it claims (garbage text, a size of 0, past the file's end or 4 GiB, a pipe or /dev/null,
    /// a format that is not xkb_v1): each is invalid_keymap_format, never a stall.
    func keymapArguments() -> [WireValue] {
        let valid = FdFactory.validKeymap
        let format: UInt32 = rng.chance(0.95) ? 1 : rng.pick([0, 2, 0xffff_ffff])
        switch rng.int(0..<10) {
        case 0:
            let garbage = (0..<rng.int(1...4096)).map { _ in UInt8(rng.int(0...255)) }
            guard let fd = fds.file(holding: garbage) else { return [.uint(format), .fd(-1, kind: "none"), .uint(0)] }
            return [.uint(format), .fd(fd, kind: "garbage keymap"), .uint(UInt32(garbage.count))]
        case 1:
            guard let fd = fds.file(holding: valid) else { return [.uint(format), .fd(-1, kind: "none"), .uint(0)] }
            return [.uint(format), .fd(fd, kind: "keymap with a lying size"), .uint(rng.pick([0, UInt32(valid.count + 1), 1 << 20, 0xffff_ffff]))]
        case 2:
            let f = fds.make(rng.pick([.pipeRead, .devNull, .directory, .socket]), size: 0)
            return [.uint(format), .fd(f?.fd ?? -1, kind: f?.kind ?? "none"), .uint(UInt32(valid.count))]
        default:
            guard let fd = fds.file(holding: valid) else { return [.uint(format), .fd(-1, kind: "none"), .uint(0)] }
            return [.uint(format), .fd(fd, kind: "keymap"), .uint(UInt32(valid.count))]
        }
    }

    /// Remembers what later requests need: pool sizes, buffer sizes, which surface a role is for.
    func recordAttributes(_ id: UInt32, _ interface: String, _ request: String, _ args: [WireValue]) {
        func int(_ i: Int) -> Int? { if i < args.count, case .int(let v) = args[i] { return Int(v) } else { return nil } }
        func object(_ i: Int) -> UInt32? { i < args.count ? args[i].uint32 : nil }
        switch (interface, request) {
        case ("wl_shm", "create_pool"):
            if let pool = object(0), let size = int(2) { connection.setAttribute(pool, "size", size) }
            if let pool = object(0), let file = pendingPoolFile { poolFiles[pool] = file }
            pendingPoolFile = nil
        case ("wl_shm_pool", "resize"):
            if let size = int(0), size > (attribute(id, "size") ?? 0) { connection.setAttribute(id, "size", size) }
        case ("wl_shm_pool", "create_buffer"):
            if let buffer = object(0), let w = int(2), let h = int(3) {
                connection.setAttribute(buffer, "width", w)
                connection.setAttribute(buffer, "height", h)
            }
        case ("wl_subcompositor", "get_subsurface"):
            if let sub = object(0), let surface = object(1) { connection.setAttribute(sub, "surface", Int(surface)) }
        case ("xdg_wm_base", "get_xdg_surface"):
            if let xs = object(0), let surface = object(1) { connection.setAttribute(xs, "surface", Int(surface)) }
        default:
            break
        }
    }
}
