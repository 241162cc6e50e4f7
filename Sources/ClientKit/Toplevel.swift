import CWayland

/// A window: `wl_surface` + `xdg_surface` + `xdg_toplevel`.
///
/// Creating it sends the initial commit without a buffer, which asks the compositor for the
/// first configure. A buffer may be attached only after that configure is acked; acking happens
/// here, as each `xdg_surface.configure` is dispatched.
public final class Toplevel: EventReceiver {
    public let surface: Surface
    let xdgSurface: OpaquePointer
    let xdgToplevel: OpaquePointer

    /// True once the first `xdg_surface.configure` has been acked.
    public private(set) var isConfigured = false
    /// Number of configure sequences acked.
    public private(set) var configureCount = 0
    /// The size of the last `xdg_toplevel.configure` (0 means "client decides").
    public private(set) var suggestedSize: (width: Int, height: Int) = (0, 0)
    /// The compositor asked the window to close (`xdg_toplevel.close`).
    public private(set) var closeRequested = false

    public var context: ClientContext { surface.context }
    public var connection: Connection { surface.context.connection }

    /// With `fullscreen`, `set_fullscreen` goes out before the initial commit, so the first
    /// configure already carries the output's size (`suggestedSize`).
    public init(context: ClientContext, title: String, appID: String, fullscreen: Bool = false, fullscreenOutput: Output? = nil) {
        surface = Surface(context: context)
        xdgSurface = xdg_wm_base_get_xdg_surface(context.wmBase.proxy, surface.proxy)
        xdgToplevel = xdg_surface_get_toplevel(xdgSurface)
        routeEvents(of: xdgSurface, to: self)
        routeEvents(of: xdgToplevel, to: self)
        xdg_toplevel_set_title(xdgToplevel, title)
        xdg_toplevel_set_app_id(xdgToplevel, appID)
        if fullscreen { xdg_toplevel_set_fullscreen(xdgToplevel, fullscreenOutput?.proxy) }
        surface.commit()
    }

    deinit {
        // Role object first, then xdg_surface; `surface` (the wl_surface) goes after this body.
        xdg_toplevel_destroy(xdgToplevel)
        xdg_surface_destroy(xdgSurface)
    }

    /// `xdg_toplevel.set_fullscreen` on `output` (nil: the compositor picks); `unset_fullscreen`
    /// with `false`. The configure that follows carries the output's size (`suggestedSize`).
    public func setFullscreen(_ fullscreen: Bool, on output: Output? = nil) {
        if fullscreen { xdg_toplevel_set_fullscreen(xdgToplevel, output?.proxy) } else { xdg_toplevel_unset_fullscreen(xdgToplevel) }
    }

    /// `xdg_toplevel.set_maximized` / `unset_maximized`.
    public func setMaximized(_ maximized: Bool) {
        if maximized { xdg_toplevel_set_maximized(xdgToplevel) } else { xdg_toplevel_unset_maximized(xdgToplevel) }
    }

    /// Waits (sleeping in poll) until the first configure has been acked or the window was closed.
    public func waitForConfigure(timeout: Duration? = nil) throws -> Connection.WaitResult {
        try connection.wait(timeout: timeout) { isConfigured || closeRequested }
    }

    /// Attaches `buffer`, damages all of it, optionally requests a frame callback, and commits.
    /// Only valid after the first configure (else the compositor raises unconfigured_buffer).
    @discardableResult
    public func present(_ buffer: WaylandBuffer, requestFrame: Bool = true) -> Callback? {
        surface.attach(buffer)
        surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
        let callback = requestFrame ? surface.requestFrame() : nil
        surface.commit()
        return callback
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if proxy == xdgSurface {
            guard opcode == 0 else { return } // configure(serial)
            // Acked at once; the next commit (first buffer or next frame) applies it.
            xdg_surface_ack_configure(xdgSurface, arguments.uint(0))
            configureCount += 1
            isConfigured = true
        } else if proxy == xdgToplevel {
            switch opcode {
            case 0: // configure(width, height, states)
                suggestedSize = (Int(arguments.int(0)), Int(arguments.int(1)))
            case 1: // close
                closeRequested = true
            default: // configure_bounds, wm_capabilities: not needed here
                break
            }
        }
    }
}
