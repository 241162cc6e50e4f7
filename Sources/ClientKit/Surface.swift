import CWayland

/// A `wl_surface`. Requests are queued; they reach the compositor at the next flush or wait.
public final class Surface: EventReceiver {
    public let context: ClientContext
    /// The wl_surface proxy, for requests ClientKit does not wrap.
    public let proxy: OpaquePointer
    /// Outputs the surface is on (`enter` minus `leave`), by proxy.
    public private(set) var outputCount = 0
    /// The wl_output proxies of the outputs the surface is on, in the order entered.
    private var entered: [OpaquePointer] = []
    /// Every enter and leave, in order: (true for enter, the wl_output's proxy).
    public private(set) var outputEvents: [(entered: Bool, output: OpaquePointer)] = []

    /// Whether the surface is on `output` (entered and not left).
    public func isOn(_ output: Output) -> Bool { entered.contains(output.proxy) }
    /// `preferred_buffer_scale` (wl_surface v6); nil until the compositor sends one.
    public private(set) var preferredBufferScale: Int32?
    /// `preferred_buffer_transform` (wl_surface v6); nil until the compositor sends one.
    public private(set) var preferredBufferTransform: UInt32?

    /// A surface without a role yet (give it one: a sub-surface, a cursor...).
    public init(context: ClientContext) {
        self.context = context
        // Created with the v6 table whatever version was bound: the generated
        // wl_compositor_create_surface would use libwayland's v5 table, which cannot decode the
        // v6 events. wl_proxy_marshal_array_constructor_versioned is the non-variadic form.
        var args = [wl_argument(o: nil)]
        proxy = wl_proxy_marshal_array_constructor_versioned(
            context.compositor, UInt32(WL_COMPOSITOR_CREATE_SURFACE), &args, cw_wl_surface_v6(), context.compositorVersion)!
        routeEvents(of: proxy, to: self)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0:  // enter(output)
            outputCount += 1
            if let o = arguments.object(0) { entered.append(o); outputEvents.append((true, o)) }
        case 1:  // leave(output)
            outputCount -= 1
            if let o = arguments.object(0) {
                entered.removeAll { $0 == o }
                outputEvents.append((false, o))
            }
        case 2: preferredBufferScale = arguments.int(0)
        case 3: preferredBufferTransform = arguments.uint(0)
        default: break
        }
    }

    deinit {
        wl_surface_destroy(proxy)
    }

    /// Attaches `buffer` for the next commit; the buffer counts as busy from here on
    /// (once committed, only `wl_buffer.release` frees it).
    public func attach(_ buffer: WaylandBuffer?) {
        wl_surface_attach(proxy, buffer?.proxy, 0, 0)
        buffer?.markBusy()
    }

    /// Damage in buffer coordinates (`wl_surface.damage_buffer`, version 4).
    public func damageBuffer(x: Int, y: Int, width: Int, height: Int) {
        wl_surface_damage_buffer(proxy, Int32(x), Int32(y), Int32(clamping: width), Int32(clamping: height))
    }

    /// Asks for a `done` when the compositor is ready for the next frame; applies with the next commit.
    public func requestFrame() -> Callback {
        Callback(connection: context.connection, proxy: wl_surface_frame(proxy))
    }

    public func commit() {
        wl_surface_commit(proxy)
    }

    /// `wl_surface.set_input_region`: nil means infinite (the default); `[]` accepts no input.
    public func setInputRegion(_ rects: [(x: Int32, y: Int32, width: Int32, height: Int32)]?) {
        guard let rects else { return wl_surface_set_input_region(proxy, nil) }
        let region = wl_compositor_create_region(context.compositor)
        for r in rects { wl_region_add(region, r.x, r.y, r.width, r.height) }
        wl_surface_set_input_region(proxy, region)
        wl_region_destroy(region)
    }
}
