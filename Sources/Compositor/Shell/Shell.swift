import Buffers
import SurfaceModel
import CWayland

/// Window-management policy, in one place (issue 17, item 3): where a new window goes, which
/// window is active (xdg_toplevel's `activated` state, and the keyboard focus), what a press
/// does (click to focus; a press outside the grabbing client dismisses popup grabs), and the
/// popup grab chain. The xdg objects report what happened (a window mapped or went away, a
/// popup asked for a grab) through `XdgShellDelegate`; the seat asks where input goes.
/// Interactive move and resize are decided here and driven by the seat's pointer grab.
final class Shell: XdgShellDelegate {
    private unowned let server: Server

    /// The focused window. New windows take it; a press in another window moves it there.
    /// Strong (the toplevel commits often: no side table); `toplevelGone` clears it.
    private(set) var activeToplevel: XdgToplevel?
    /// Popups holding an explicit grab, bottom to top (dismissed top-down).
    private var popupGrabs: [XdgPopup] = []

    init(server: Server) { self.server = server }

    // MARK: placement

    /// Where a toplevel's window geometry goes: the output's corner when maximized or
    /// fullscreen, else where it already is, else the next cascade position.
    func placement(of toplevel: XdgToplevel, remembered: (x: Int32, y: Int32)?) -> (x: Int32, y: Int32) {
        if toplevel.maximized || toplevel.fullscreen { return (0, 0) }
        return remembered ?? Placement.cascade(index: server.scene.viewCount)
    }

    func showWindow(_ surface: Surface, x: Int32, y: Int32) {
        if let view = surface.view {
            server.scene.move(view, x: x, y: y)
        } else {
            server.scene.map(surface, x: x, y: y)
        }
    }

    func hideWindow(_ surface: Surface) { server.scene.unmap(surface) }

    var outputBounds: Rect { server.scene.bounds }

    /// xdg_toplevel.move: honoured for a button press still held (the seat's pointer grab moves
    /// the window until the buttons are released).
    func moveRequested(_ toplevel: XdgToplevel, windowX: Int32, windowY: Int32, serial: UInt32, client: OpaquePointer) {
        server.seat.startMove(toplevel, windowX: windowX, windowY: windowY, serial: serial, client: client)
    }

    /// xdg_toplevel.resize: likewise; the dragged edges follow the pointer.
    func resizeRequested(_ toplevel: XdgToplevel, edges: UInt32, geometry: Rect, serial: UInt32, client: OpaquePointer) {
        server.seat.startResize(toplevel, edges: edges, geometry: geometry, serial: serial, client: client)
    }

    /// A toplevel was mapped: it takes the user's attention (grabbing popups are dismissed) and
    /// the focus, as on a desktop.
    func toplevelMapped(_ toplevel: XdgToplevel) {
        dismissPopupGrabs()
        activate(toplevel)
    }

    // MARK: focus

    func activate(_ toplevel: XdgToplevel?) {
        guard toplevel !== activeToplevel else { return }
        let previous = activeToplevel
        activeToplevel = toplevel
        previous?.setActivated(false)
        toplevel?.setActivated(true)
        server.seat.updateKeyboardFocus()
    }

    /// A window unmapped or went away: the focus moves to the topmost remaining window.
    func toplevelGone(_ toplevel: XdgToplevel) {
        guard activeToplevel === toplevel else { return }
        activeToplevel = nil
        let next = server.scene.views.reversed().lazy.compactMap { view -> XdgToplevel? in
            guard let t = (view.surface.role as? XdgSurface)?.roleObject as? XdgToplevel, t !== toplevel else { return nil }
            return t
        }.first
        activate(next)
    }

    /// Where keyboard input goes: the topmost grabbing popup, else the active window.
    var keyboardFocus: Surface? { popupGrabs.last?.surface ?? activeToplevel?.surface }

    /// A button press or touch down lands on `surface` (nil: on nothing): a press outside the
    /// grabbing client dismisses the popup grabs. Returns whether it did (the popups left the
    /// scene: what is under the press may have changed). The seat then calls `focusWindow`.
    func pressDismissesPopupGrabs(on surface: Surface?) -> Bool {
        guard pressEndsPopupGrab(on: surface) else { return false }
        dismissPopupGrabs()
        return true
    }

    /// Click to focus: the window whose tree holds `surface` (a popup's counts as its parent's).
    func focusWindow(containing surface: Surface?) {
        var root = surface?.root
        while let r = root, let popup = (r.role as? XdgSurface)?.roleObject as? XdgPopup {
            root = popup.parentSurface?.root
        }
        guard let r = root, let toplevel = (r.role as? XdgSurface)?.roleObject as? XdgToplevel else { return }
        activate(toplevel)
    }

    // MARK: popup grabs

    /// xdg_popup.grab: true when the grab is taken (a recent press of this client, on top of
    /// the current chain), false when the popup must be dismissed, as the spec allows.
    func grabPopup(_ popup: XdgPopup, serial: UInt32, client: OpaquePointer, parentPopup: XdgPopup?) -> Bool {
        guard server.seat.isInputSerial(serial, of: client) else { return false }
        if let top = popupGrabs.last, top !== parentPopup { return false }
        popupGrabs.append(popup)
        server.seat.updateKeyboardFocus()
        return true
    }

    func popupGone(_ popup: XdgPopup) {
        popupGrabs.removeAll { $0 === popup }
        server.seat.updateKeyboardFocus()
    }

    /// Dismisses every grabbing popup, topmost first (a click elsewhere, a new toplevel).
    func dismissPopupGrabs() {
        while let top = popupGrabs.popLast() { top.dismiss() }
    }

    /// Whether a press on `surface` falls outside the grabbing client (which dismisses the grab).
    private func pressEndsPopupGrab(on surface: Surface?) -> Bool {
        guard let top = popupGrabs.last else { return false }
        guard let surface, let resource = surface.resource else { return true }
        return wl_resource_get_client(resource) != top.client
    }
}
