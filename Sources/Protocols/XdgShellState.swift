import Buffers
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore
import CWayland

/// What xdg-shell asks of the compositor: every window-management decision (the `Shell`
/// implements it). The xdg objects run the protocol (configure cycle, geometry, positioner
/// rules, errors) and report; where windows go and who has focus is decided behind this.
package protocol XdgShellDelegate: AnyObject {
    /// Where a toplevel's window geometry goes when it maps or is re-placed (maximized,
    /// fullscreen, or where it already is / the next free spot).
    func placement(of toplevel: XdgToplevel, remembered: (x: Int32, y: Int32)?) -> (x: Int32, y: Int32)
    /// Puts `surface` on the output with its origin at (x, y), or moves it there.
    func showWindow(_ surface: Surface, x: Int32, y: Int32)
    /// Takes `surface` off the output.
    func hideWindow(_ surface: Surface)
    /// A toplevel was mapped for the first time since it was last unmapped.
    func toplevelMapped(_ toplevel: XdgToplevel)
    /// A toplevel unmapped or went away.
    func toplevelGone(_ toplevel: XdgToplevel)
    /// xdg_popup.grab: true when the grab is taken, false when the popup must be dismissed.
    func grabPopup(_ popup: XdgPopup, serial: UInt32, client: OpaquePointer, parentPopup: XdgPopup?) -> Bool
    func popupGone(_ popup: XdgPopup)
    /// xdg_toplevel.move and .resize (the window geometry's corner, or rectangle, in output space).
    func moveRequested(_ toplevel: XdgToplevel, windowX: Int32, windowY: Int32, serial: UInt32, client: OpaquePointer)
    func resizeRequested(_ toplevel: XdgToplevel, edges: UInt32, geometry: Rect, serial: UInt32, client: OpaquePointer)
    /// xdg_toplevel.set_maximized (true) / unset_maximized (false): the shell decides, and
    /// answers with `XdgToplevel.setWindowStates` (which configures).
    func maximizeRequested(_ toplevel: XdgToplevel, _ maximize: Bool)
    /// xdg_toplevel.set_fullscreen / unset_fullscreen, likewise.
    func fullscreenRequested(_ toplevel: XdgToplevel, _ fullscreen: Bool)
    /// xdg_toplevel.set_minimized, or a taskbar's (un)minimize (zwlr_foreign_toplevel_handle_v1).
    func minimizeRequested(_ toplevel: XdgToplevel, _ minimize: Bool)
    /// A taskbar asks to activate the window (zwlr_foreign_toplevel_handle_v1.activate).
    func activateRequested(_ toplevel: XdgToplevel)
    /// The size a configure of `toplevel` names when the shell decides it (maximized, fullscreen);
    /// nil lets the client pick (0×0, or the interactive resize's size).
    func configuredSize(of toplevel: XdgToplevel) -> (width: Int32, height: Int32)?
    /// The layout rectangle of the output a window at `frame` is on (popup constraints).
    func outputBounds(of frame: Rect) -> Rect
}

/// The xdg-shell family's state: what xdg_wm_base, xdg_positioner, xdg_surface, xdg_toplevel and
/// xdg_popup share instead of the server.
package final class XdgShellState {
    package unowned let context: ProtocolContext
    package unowned let delegate: XdgShellDelegate
    /// A buffer committed before the first ack_configure counts as the ack (the wlcs module's
    /// compatibility switch, ServerConfiguration.implicitFirstConfigureAck); else the spec's
    /// `unconfigured_buffer`.
    package let implicitFirstConfigureAck: Bool
    /// ext_foreign_toplevel_list_v1: told when a toplevel is mapped, renamed and gone.
    package let foreignToplevels: ForeignToplevelListState
    /// xdg-foreign v2's exported handles.
    package let foreign = XdgForeignState()

    package init(context: ProtocolContext, delegate: XdgShellDelegate, implicitFirstConfigureAck: Bool) {
        self.context = context
        self.delegate = delegate
        self.implicitFirstConfigureAck = implicitFirstConfigureAck
        foreignToplevels = ForeignToplevelListState(context: context)
        foreignToplevels.shell = self
    }
}
