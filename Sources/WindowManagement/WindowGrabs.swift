import Input
import Protocols
import SurfaceModel
import SceneGraph
import CWayland

/// xdg_toplevel.move: the window follows the pointer, keeping the offset the press had from the
/// window geometry's corner.
package final class MoveGrab: PointerGrab {
    private let toplevel: XdgToplevel
    private let offsetX: Double, offsetY: Double

    package init(_ toplevel: XdgToplevel, offsetX: Double, offsetY: Double) {
        self.toplevel = toplevel
        self.offsetX = offsetX
        self.offsetY = offsetY
    }

    package func motion(x: Double, y: Double) {
        toplevel.place(x: Int32((x - offsetX).rounded(.down)), y: Int32((y - offsetY).rounded(.down)))
    }

    package func ended() {}
}

/// xdg_toplevel.resize: the dragged edges of the window geometry follow the pointer; the client
/// is configured with each new size (and `resizing` until the grab ends).
package final class ResizeGrab: PointerGrab {
    private let toplevel: XdgToplevel
    private let edges: UInt32
    private let start: Rect
    private let x0: Double, y0: Double

    package init(_ toplevel: XdgToplevel, edges: UInt32, start: Rect, x0: Double, y0: Double) {
        self.toplevel = toplevel
        self.edges = edges
        self.start = start
        self.x0 = x0
        self.y0 = y0
    }

    package func motion(x: Double, y: Double) {
        toplevel.interactiveResize(to: ResizeGrab.resized(start, edges: edges,
                                                          dx: Int32((x - x0).rounded()), dy: Int32((y - y0).rounded())))
    }

    package func ended() { toplevel.endInteractiveResize() }

    /// The window geometry after dragging `edges` (xdg_toplevel.resize_edge bits: 1 top,
    /// 2 bottom, 4 left, 8 right) by (dx, dy); never smaller than 1×1.
    package static func resized(_ r: Rect, edges: UInt32, dx: Int32, dy: Int32) -> Rect {
        var (x0, y0, x1, y1) = (r.x, r.y, r.x + r.width, r.y + r.height)
        if edges & 4 != 0 { x0 = min(x0 + dx, x1 - 1) }
        if edges & 8 != 0 { x1 = max(x1 + dx, x0 + 1) }
        if edges & 1 != 0 { y0 = min(y0 + dy, y1 - 1) }
        if edges & 2 != 0 { y1 = max(y1 + dy, y0 + 1) }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}
