/// Well-formed preludes that put a session's objects into deep states before the random phase:
/// a mapped window with a buffer, a sub-surface tree, a popup, screen captures, dma-buf params,
/// a selection. The random phase then mutates and destroys them in any order.
extension TypedSession {
    func planScript() {
        script.append(.run { s in s.registry = s.connection.request(1, "get_registry", [.freshID])[0] })
        script.append(.barrier)
        script.append(.run { $0.bindGlobals() })
        script.append(.barrier)  // wl_output.mode, wl_shm.format, capabilities
        guard rng.chance(0.75) else { return }

        if rng.chance(0.8) {
            planToplevel()
            if rng.chance(0.4) { planSubsurface() }
            if rng.chance(0.4) { planPopup() }
        }
        if rng.chance(0.25) { planScreencopy() }
        if rng.chance(0.2) { planImageCopyCapture() }
        if rng.chance(0.15) { script.append(.run { s in s.capture("zwlr_export_dmabuf_manager_v1") }) }
        if rng.chance(0.2) { planDmabufParams() }
        if rng.chance(0.2) { planSelection() }
        if rng.chance(0.15) {
            script.append(.run { s in
                guard let m = s.bound["zxdg_output_manager_v1"], let o = s.bound["wl_output"] else { return }
                s.send(m, "get_xdg_output", [.freshID, .object(o)])
            })
        }
        if rng.chance(0.03) {
            // The seat has no devices: missing_capability.
            script.append(.run { s in if let seat = s.bound["wl_seat"] { s.send(seat, s.rng.pick(["get_pointer", "get_keyboard", "get_touch"]), [.freshID]) } })
        }
        script.append(.barrier)
    }

    /// Binds each advertised global, mostly at a valid version, now and then at an invalid one,
    /// with a wrong interface name or an unknown global name, sometimes twice.
    func bindGlobals() {
        for g in globals where rng.chance(0.92) {
            for _ in 0..<(rng.chance(0.15) ? 2 : 1) {
                var name = g.name
                var interface = g.interface
                var version = rng.chance(0.6) ? g.version : UInt32(rng.int(1...Int(max(1, g.version))))
                if rng.chance(aggression * 0.05) {
                    switch rng.int(0..<5) {
                    case 0: version = 0
                    case 1: version = g.version + 1
                    case 2: version = UInt32.max
                    case 3: interface = rng.pick(["wl_nothing", "", "wl_compositor", "xdg_wm_base"])
                    default: name = g.name &+ UInt32(rng.int(100...1000))
                    }
                }
                let created = send(registry, "bind", [.uint(name), .string(Array(interface.utf8)), .uint(version), .freshID])
                if let id = created.first, bound[g.interface] == nil, interface == g.interface, name == g.name { bound[g.interface] = id }
            }
        }
    }

    /// A pool on a sealed memfd with one buffer of `width`×`height` XRGB8888 in it.
    func shmBuffer(width: Int, height: Int, stride: Int? = nil) -> UInt32? {
        guard let shm = bound["wl_shm"] else { return nil }
        // Sizes may come from a capture's buffer event: keep them in range.
        guard width > 0, height > 0, width <= 8192, height <= 8192 else { return nil }
        let stride = min(max(stride ?? width * 4, 0), 65536)
        let size = max(4096, stride * height)
        guard let pool = send(shm, "create_pool", [.freshID, poolFd(size: size, growable: true), .int(Int32(size))]).first else { return nil }
        let buffer = send(pool, "create_buffer", [.freshID, .int(0), .int(Int32(width)), .int(Int32(height)), .int(Int32(stride)), .uint(1)]).first
        if rng.chance(0.5) { send(pool, "destroy") }  // buffers outlive their pool
        return buffer
    }

    private func planToplevel() {
        script.append(.run { s in
            guard let comp = s.bound["wl_compositor"], let wm = s.bound["xdg_wm_base"],
                  let surface = s.send(comp, "create_surface", [.freshID]).first,
                  let xs = s.send(wm, "get_xdg_surface", [.freshID, .object(surface)]).first,
                  let toplevel = s.send(xs, "get_toplevel", [.freshID]).first else { return }
            s.named["toplevel.surface"] = surface
            s.named["toplevel.xdg"] = xs
            s.send(toplevel, "set_title", [.string(Array("fuzz \(s.index)".utf8))])
            switch s.rng.int(0..<6) {
            case 0: s.send(toplevel, "set_fullscreen", [.object(s.bound["wl_output"] ?? 0)])
            case 1: s.send(toplevel, "set_maximized")
            case 2: s.send(toplevel, "set_min_size", [.int(10), .int(10)])
            default: break
            }
            s.send(surface, "commit")
        })
        script.append(.barrier)
        script.append(.run { s in
            guard let surface = s.named["toplevel.surface"], let xs = s.named["toplevel.xdg"] else { return }
            s.send(xs, "ack_configure", [.uint(UInt32(s.attribute(xs, "serial") ?? 0))])
            let w = s.rng.int(16...200), h = s.rng.int(16...200)
            guard let buffer = s.shmBuffer(width: w, height: h) else { return }
            s.send(surface, "attach", [.object(buffer), .int(0), .int(0)])
            let damage = (s.connection.objects[surface]?.version ?? 1) >= 4 ? "damage_buffer" : "damage"
            s.send(surface, damage, [.int(0), .int(0), .int(Int32(w)), .int(Int32(h))])
            s.send(surface, "frame", [.freshID])
            if let p = s.bound["wp_presentation"], s.rng.chance(0.5) { s.send(p, "feedback", [.object(surface), .freshID]) }
            if let v = s.bound["wp_viewporter"], s.rng.chance(0.4), let viewport = s.send(v, "get_viewport", [.freshID, .object(surface)]).first {
                s.send(viewport, "set_destination", [.int(Int32(w * 2)), .int(Int32(h / 2 + 1))])
                if s.rng.chance(0.5) {
                    s.send(viewport, "set_source", [.fixed(256), .fixed(256), .fixed(Int32((w - 2) * 256)), .fixed(Int32((h - 2) * 256))])
                }
            }
            if let comp = s.bound["wl_compositor"], s.rng.chance(0.3), let region = s.send(comp, "create_region", [.freshID]).first {
                s.send(region, "add", [.int(0), .int(0), .int(Int32(w)), .int(Int32(h))])
                s.send(surface, s.rng.chance(0.5) ? "set_opaque_region" : "set_input_region", [.object(region)])
            }
            s.send(surface, "commit")
        })
    }

    private func planSubsurface() {
        script.append(.run { s in
            guard let comp = s.bound["wl_compositor"], let subcomp = s.bound["wl_subcompositor"],
                  let parent = s.named["toplevel.surface"],
                  let child = s.send(comp, "create_surface", [.freshID]).first,
                  let sub = s.send(subcomp, "get_subsurface", [.freshID, .object(child), .object(parent)]).first else { return }
            s.send(sub, "set_position", [.int(Int32(s.rng.int(-20...100))), .int(Int32(s.rng.int(-20...100)))])
            if s.rng.chance(0.5) { s.send(sub, "set_desync") }
            if s.rng.chance(0.5) { s.send(sub, "place_below", [.object(parent)]) }
            if let buffer = s.shmBuffer(width: s.rng.int(8...64), height: s.rng.int(8...64)) {
                s.send(child, "attach", [.object(buffer), .int(0), .int(0)])
                s.send(child, "damage", [.int(0), .int(0), .int(64), .int(64)])
            }
            s.send(child, "frame", [.freshID])
            s.send(child, "commit")
            s.send(parent, "commit")
        })
    }

    private func planPopup() {
        script.append(.run { s in
            guard let comp = s.bound["wl_compositor"], let wm = s.bound["xdg_wm_base"], let parent = s.named["toplevel.xdg"],
                  let positioner = s.send(wm, "create_positioner", [.freshID]).first,
                  let surface = s.send(comp, "create_surface", [.freshID]).first,
                  let xs = s.send(wm, "get_xdg_surface", [.freshID, .object(surface)]).first else { return }
            s.send(positioner, "set_size", [.int(Int32(s.rng.int(1...120))), .int(Int32(s.rng.int(1...120)))])
            s.send(positioner, "set_anchor_rect", [.int(0), .int(0), .int(Int32(s.rng.int(1...50))), .int(Int32(s.rng.int(1...50)))])
            s.send(positioner, "set_anchor", [.uint(UInt32(s.rng.int(0...8)))])
            s.send(positioner, "set_gravity", [.uint(UInt32(s.rng.int(0...8)))])
            s.send(positioner, "set_constraint_adjustment", [.uint(UInt32(s.rng.int(0...63)))])
            s.send(xs, "get_popup", [.freshID, .object(parent), .object(positioner)])
            s.send(surface, "commit")
            s.named["popup.surface"] = surface
            s.named["popup.xdg"] = xs
        })
        script.append(.barrier)
        script.append(.run { s in
            guard let surface = s.named["popup.surface"], let xs = s.named["popup.xdg"] else { return }
            s.send(xs, "ack_configure", [.uint(UInt32(s.attribute(xs, "serial") ?? 0))])
            if let buffer = s.shmBuffer(width: s.rng.int(1...120), height: s.rng.int(1...120)) {
                s.send(surface, "attach", [.object(buffer), .int(0), .int(0)])
            }
            s.send(surface, "commit")
        })
    }

    /// capture_output on a capture manager (the frame's events are applied at the next barrier).
    @discardableResult
    func capture(_ manager: String) -> UInt32? {
        guard let m = bound[manager], let output = bound["wl_output"] else { return nil }
        return send(m, "capture_output", [.freshID, .int(Int32(rng.int(0...1))), .object(output)]).first
    }

    private func planScreencopy() {
        script.append(.run { s in
            if s.rng.chance(0.3), let m = s.bound["zwlr_screencopy_manager_v1"], let output = s.bound["wl_output"] {
                let frame = s.send(m, "capture_output_region", [
                    .freshID, .int(0), .object(output), .int(Int32(s.rng.int(-10...100))), .int(Int32(s.rng.int(-10...100))),
                    .int(Int32(s.rng.int(1...300))), .int(Int32(s.rng.int(1...300))),
                ]).first
                s.named["screencopy.frame"] = frame
            } else {
                s.named["screencopy.frame"] = s.capture("zwlr_screencopy_manager_v1")
            }
        })
        script.append(.barrier)  // the buffer event gives the size
        script.append(.run { s in
            guard let frame = s.named["screencopy.frame"], let w = s.attribute(frame, "width"), let h = s.attribute(frame, "height"),
                  w > 0, h > 0, let buffer = s.shmBuffer(width: w, height: h, stride: s.attribute(frame, "stride")) else { return }
            s.send(frame, s.rng.chance(0.5) ? "copy" : "copy_with_damage", [.object(buffer)])
        })
    }

    /// ext-image-copy-capture: an output source, a session, then a frame with a buffer of the
    /// session's size (sometimes not), buffer damage and capture.
    private func planImageCopyCapture() {
        script.append(.run { s in
            guard let m = s.bound["ext_image_copy_capture_manager_v1"] else { return }
            // A window's source (a handle the toplevel list announced), or the output's.
            let handle = s.connection.objects.first { $0.value.interface.name == "ext_foreign_toplevel_handle_v1" }?.key
            var source: UInt32?
            if let handle, s.rng.chance(0.5), let toplevels = s.bound["ext_foreign_toplevel_image_capture_source_manager_v1"] {
                source = s.send(toplevels, "create_source", [.freshID, .object(handle)]).first
            } else if let sources = s.bound["ext_output_image_capture_source_manager_v1"], let output = s.bound["wl_output"] {
                source = s.send(sources, "create_source", [.freshID, .object(output)]).first
            }
            guard let source else { return }
            s.named["ext.session"] = s.send(m, "create_session", [.freshID, .object(source), .uint(s.rng.chance(0.1) ? 2 : 0)]).first
        })
        script.append(.barrier)  // buffer_size gives the size
        script.append(.run { s in
            guard let session = s.named["ext.session"], let w = s.attribute(session, "width"), let h = s.attribute(session, "height"),
                  w > 0, h > 0, let frame = s.send(session, "create_frame", [.freshID]).first else { return }
            let (bw, bh) = s.rng.chance(0.1) ? (max(1, w / 2), h) : (w, h)
            if let buffer = s.shmBuffer(width: bw, height: bh) { s.send(frame, "attach_buffer", [.object(buffer)]) }
            s.send(frame, "damage_buffer", [.int(0), .int(0), .int(Int32(w)), .int(Int32(h))])
            s.send(frame, "capture")
        })
    }

    private func planDmabufParams() {
        script.append(.run { s in
            guard let d = s.bound["zwp_linux_dmabuf_v1"], let params = s.send(d, "create_params", [.freshID]).first else { return }
            // No dma-buf here: a sealed memfd, which the import refuses (failed / invalid_wl_buffer).
            s.send(params, "add", [s.poolFd(size: 64 * 64 * 4), .uint(0), .uint(0), .uint(256), .uint(0), .uint(0)])
            if s.rng.chance(0.8) {
                s.send(params, "create", [.int(64), .int(64), .uint(0x3432_5258), .uint(0)])
            } else {
                s.send(params, "create_immed", [.freshID, .int(64), .int(64), .uint(0x3432_5258), .uint(0)])
            }
        })
    }

    private func planSelection() {
        script.append(.run { s in
            guard let m = s.bound["wl_data_device_manager"], let seat = s.bound["wl_seat"],
                  let source = s.send(m, "create_data_source", [.freshID]).first,
                  let device = s.send(m, "get_data_device", [.freshID, .object(seat)]).first else { return }
            s.send(source, "offer", [.string(Array("text/plain".utf8))])
            s.send(device, "set_selection", [.object(source), .uint(0)])
        })
    }
}
