import CWayland
import Input
import Protocols
import SceneGraph
import SurfaceModel

/// Window-management policy, in one place (issue 17, item 3): where a new window goes, which
/// window is active (xdg_toplevel's `activated` state, and so the keyboard focus), maximize and
/// fullscreen (whether, and what size), what a press
/// does (click to focus; a press outside the grabbing client dismisses popup grabs), the popup
/// grab chain, and interactive move and resize (pointer grabs, `WindowGrabs.swift`). The xdg
/// objects report what happened through `XdgShellDelegate`; the seat asks through `SeatDelegate`
/// when a press lands, and is told where keyboard focus goes.
package final class Shell: XdgShellDelegate, SeatDelegate {
    private let scene: Scene
    private let seat: Seat

    /// The focused window. New windows take it; a press in another window moves it there.
    /// Strong (the toplevel commits often: no side table); `toplevelGone` clears it.
    package private(set) var activeToplevel: XdgToplevel?
    /// Popups holding an explicit grab, bottom to top (dismissed top-down).
    private var popupGrabs: [XdgPopup] = []

    package init(scene: Scene, seat: Seat) {
        self.scene = scene
        self.seat = seat
        seat.delegate = self
    }

    // MARK: placement

    /// Where a toplevel's window geometry goes: its output's corner when maximized or
    /// fullscreen, else where it already is, else the next cascade position on the output under
    /// the pointer (the first output when the pointer is on none).
    package func placement(of toplevel: XdgToplevel, remembered: (x: Int32, y: Int32)?) -> (x: Int32, y: Int32) {
        if toplevel.maximized || toplevel.fullscreen {
            let output = outputRect(of: toplevel)
            return (output.x, output.y)
        }
        if let remembered { return remembered }
        let output = scene.outputs[pointerOutput]
        let cascade = Placement.cascade(index: scene.viewCount)
        return (output.x + cascade.x, output.y + cascade.y)
    }

    /// The output under the pointer, else the first.
    private var pointerOutput: Int { scene.outputIndex(atX: seat.pointer.x, y: seat.pointer.y) ?? 0 }

    /// The layout rectangle of the output `toplevel` is on: the one named by set_fullscreen, else
    /// the one its window covers most, else the one under the pointer (not shown yet).
    package func outputRect(of toplevel: XdgToplevel) -> Rect {
        if toplevel.fullscreen, let named = toplevel.fullscreenOutput { return named }
        return outputBounds(of: toplevel.surface?.view?.frame)
    }

    package func showWindow(_ surface: Surface, x: Int32, y: Int32) {
        if let view = surface.view {
            scene.move(view, x: x, y: y)
        } else {
            scene.map(surface, x: x, y: y)
        }
    }

    package func hideWindow(_ surface: Surface) { scene.unmap(surface) }

    package func outputBounds(of frame: Rect) -> Rect { outputBounds(of: Optional(frame)) }

    private func outputBounds(of frame: Rect?) -> Rect {
        let index = frame.flatMap { scene.outputIndex(mostlyCovering: $0) } ?? pointerOutput
        return scene.outputs[index]
    }

    /// Maximize and fullscreen are honoured as asked (a headless output has no panel to keep
    /// clear yet): the window covers the output, placed at its corner (`placement`).
    /// Either restores a minimized window first.
    package func maximizeRequested(_ toplevel: XdgToplevel, _ maximize: Bool) {
        if toplevel.minimized { minimizeRequested(toplevel, false) }
        toplevel.setWindowStates(maximized: maximize)
    }

    package func fullscreenRequested(_ toplevel: XdgToplevel, _ fullscreen: Bool) {
        if toplevel.minimized { minimizeRequested(toplevel, false) }
        toplevel.setWindowStates(fullscreen: fullscreen)
    }

    /// Maximized and fullscreen windows get their output's size.
    package func configuredSize(of toplevel: XdgToplevel) -> (width: Int32, height: Int32)? {
        guard toplevel.maximized || toplevel.fullscreen else { return nil }
        let output = outputRect(of: toplevel)
        return (output.width, output.height)
    }

    /// xdg_toplevel.move: honoured for a button press still held; the window follows the pointer
    /// until the buttons are released.
    package func moveRequested(_ toplevel: XdgToplevel, windowX: Int32, windowY: Int32, serial: UInt32, client: OpaquePointer) {
        let grab = MoveGrab(toplevel, offsetX: seat.pointer.x - Double(windowX), offsetY: seat.pointer.y - Double(windowY))
        _ = seat.pointer.startGrab(grab, serial: serial, client: client)
    }

    /// xdg_toplevel.resize: likewise; the dragged edges of the window geometry follow the pointer.
    package func resizeRequested(_ toplevel: XdgToplevel, edges: UInt32, geometry: Rect, serial: UInt32, client: OpaquePointer) {
        guard edges != 0 else { return }
        let grab = ResizeGrab(toplevel, edges: edges, start: geometry, x0: seat.pointer.x, y0: seat.pointer.y)
        _ = seat.pointer.startGrab(grab, serial: serial, client: client)
    }

    /// A toplevel was mapped: it takes the user's attention (grabbing popups are dismissed) and
    /// the focus, as on a desktop.
    package func toplevelMapped(_ toplevel: XdgToplevel) {
        dismissPopupGrabs()
        activate(toplevel)
    }

    // MARK: focus

    package func activate(_ toplevel: XdgToplevel?) {
        guard toplevel !== activeToplevel else { return }
        let previous = activeToplevel
        activeToplevel = toplevel
        previous?.setActivated(false)
        toplevel?.setActivated(true)
        updateKeyboardFocus()
    }

    /// A window unmapped or went away: the focus moves to the topmost remaining window.
    package func toplevelGone(_ toplevel: XdgToplevel) {
        guard activeToplevel === toplevel else { return }
        activeToplevel = nil
        let next = scene.views.reversed().lazy.compactMap { view -> XdgToplevel? in
            guard let t = view.surface.xdgToplevel, t !== toplevel else { return nil }
            return t
        }.first
        activate(next)
    }

    // MARK: minimize, and a taskbar's requests

    /// Minimized, a window leaves the scene (nothing shows it, nothing under the pointer is it)
    /// but stays a toplevel a taskbar lists; restored, it comes back where it was, on top and
    /// active.
    package func minimizeRequested(_ toplevel: XdgToplevel, _ minimize: Bool) {
        guard minimize != toplevel.minimized else { return }
        toplevel.setMinimized(minimize)
        if minimize {
            if let surface = toplevel.surface, surface.view != nil { scene.unmap(surface) }
            toplevelGone(toplevel)  // the focus moves on
        } else {
            toplevel.restore()
            activate(toplevel)
        }
    }

    /// A taskbar's activate: restored if minimized, raised, focused.
    package func activateRequested(_ toplevel: XdgToplevel) {
        if toplevel.minimized { return minimizeRequested(toplevel, false) }
        if let view = toplevel.surface?.view { scene.raise(view) }
        activate(toplevel)
    }

    /// Where keyboard input goes: the topmost grabbing popup, else the active window.
    package var keyboardFocus: Surface? { popupGrabs.last?.surface ?? activeToplevel?.surface }

    private func updateKeyboardFocus() { seat.keyboard.setFocus(keyboardFocus) }

    /// A button press or touch down lands on `surface` (nil: on nothing): a press outside the
    /// grabbing client dismisses the popup grabs. Returns whether it did (the popups left the
    /// scene: what is under the press may have changed). The seat then calls `focusWindow`.
    package func pressDismissesPopupGrabs(on surface: Surface?) -> Bool {
        guard pressEndsPopupGrab(on: surface) else { return false }
        dismissPopupGrabs()
        return true
    }

    /// Click to focus: the window whose tree holds `surface` (a popup's counts as its parent's).
    package func focusWindow(containing surface: Surface?) {
        var root = surface?.root
        while let r = root, let popup = r.xdgPopup {
            root = popup.parentSurface?.root
        }
        guard let toplevel = root?.xdgToplevel else { return }
        activate(toplevel)
    }

    // MARK: popup grabs

    /// xdg_popup.grab: true when the grab is taken (a recent press of this client, on top of
    /// the current chain), false when the popup must be dismissed, as the spec allows.
    package func grabPopup(_ popup: XdgPopup, serial: UInt32, client: OpaquePointer, parentPopup: XdgPopup?) -> Bool {
        guard seat.isInputSerial(serial, of: client) else { return false }
        if let top = popupGrabs.last, top !== parentPopup { return false }
        popupGrabs.append(popup)
        updateKeyboardFocus()
        return true
    }

    package func popupGone(_ popup: XdgPopup) {
        popupGrabs.removeAll { $0 === popup }
        updateKeyboardFocus()
    }

    /// Dismisses every grabbing popup, topmost first (a click elsewhere, a new toplevel).
    package func dismissPopupGrabs() {
        while let top = popupGrabs.popLast() { top.dismiss() }
    }

    /// Whether a press on `surface` falls outside the grabbing client (which dismisses the grab).
    private func pressEndsPopupGrab(on surface: Surface?) -> Bool {
        guard let top = popupGrabs.last else { return false }
        guard let surface, let resource = surface.resource else { return true }
        return wl_resource_get_client(resource) != top.client
    }
}
