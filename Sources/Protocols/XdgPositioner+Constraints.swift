import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// Constraint adjustment (xdg_positioner.constraint_adjustment): a popup that would cross the
/// output's edge is flipped, slid or resized, axis by axis, in the order the spec gives.
extension XdgPositioner.Rules {
    /// The popup's rectangle relative to the parent's window geometry, kept inside `bounds`
    /// (the output, in the same coordinates) as far as the allowed adjustments can.
    package func constrained(to bounds: Rect) -> Rect {
        var box = geometry
        if fits(box, bounds, horizontal: true) && fits(box, bounds, horizontal: false) { return box }
        for horizontal in [true, false] where !fits(box, bounds, horizontal: horizontal) {
            box = adjust(box, bounds, horizontal: horizontal)
        }
        return box
    }

    private func has(_ a: xdg_positioner_constraint_adjustment) -> Bool { constraintAdjustment & a.rawValue != 0 }

    private func fits(_ r: Rect, _ b: Rect, horizontal: Bool) -> Bool {
        horizontal ? (r.x >= b.x && r.x + r.width <= b.x + b.width) : (r.y >= b.y && r.y + r.height <= b.y + b.height)
    }

    private func adjust(_ box: Rect, _ bounds: Rect, horizontal: Bool) -> Rect {
        // 1. Flip: mirror anchor and gravity on this axis; kept only if that fits.
        if has(horizontal ? XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_FLIP_X : XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_FLIP_Y) {
            var flipped = self
            flipped.anchor = Self.flip(anchor, horizontal: horizontal)
            flipped.gravity = Self.flip(gravity, horizontal: horizontal)
            let f = flipped.geometry
            let candidate = horizontal ? Rect(x: f.x, y: box.y, width: box.width, height: box.height)
                                       : Rect(x: box.x, y: f.y, width: box.width, height: box.height)
            if fits(candidate, bounds, horizontal: horizontal) { return candidate }
        }
        var r = box
        // 2. Slide: move into view; if it cannot fit, its left/top edge stays visible.
        if has(horizontal ? XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_SLIDE_X : XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_SLIDE_Y) {
            if horizontal {
                if r.x + r.width > bounds.x + bounds.width { r.x = bounds.x + bounds.width - r.width }
                if r.x < bounds.x { r.x = bounds.x }
            } else {
                if r.y + r.height > bounds.y + bounds.height { r.y = bounds.y + bounds.height - r.height }
                if r.y < bounds.y { r.y = bounds.y }
            }
            if fits(r, bounds, horizontal: horizontal) { return r }
        }
        // 3. Resize: keep only the visible part (never to nothing).
        if has(horizontal ? XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_RESIZE_X : XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_RESIZE_Y) {
            if horizontal {
                let x0 = max(r.x, bounds.x), x1 = min(r.x + r.width, bounds.x + bounds.width)
                if x1 > x0 { (r.x, r.width) = (x0, x1 - x0) }
            } else {
                let y0 = max(r.y, bounds.y), y1 = min(r.y + r.height, bounds.y + bounds.height)
                if y1 > y0 { (r.y, r.height) = (y0, y1 - y0) }
            }
        }
        return r
    }

    /// Anchor and gravity share their numbering: 1 top, 2 bottom, 3 left, 4 right, 5 top-left,
    /// 6 bottom-left, 7 top-right, 8 bottom-right.
    package static func flip(_ value: UInt32, horizontal: Bool) -> UInt32 {
        let map: [UInt32: UInt32] = horizontal ? [3: 4, 4: 3, 5: 7, 7: 5, 6: 8, 8: 6] : [1: 2, 2: 1, 5: 6, 6: 5, 7: 8, 8: 7]
        return map[value] ?? value
    }
}
