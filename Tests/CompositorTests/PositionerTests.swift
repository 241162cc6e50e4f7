import CWayland
import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// xdg_positioner placement and constraint adjustment against a 200×100 output whose parent
/// window geometry sits at (50, 20): bounds in parent coordinates are (-50, -20, 200, 100).
@Suite struct PositionerTests {
    let bounds = Rect(x: -50, y: -20, width: 200, height: 100)

    func rules(anchorRect: Rect, anchor: xdg_positioner_anchor, gravity: xdg_positioner_gravity,
               size: (Int32, Int32), adjust: UInt32) -> XdgPositioner.Rules {
        var r = XdgPositioner.Rules()
        (r.width, r.height) = size
        r.anchorRect = anchorRect
        r.anchorRectSet = true
        r.anchor = anchor.rawValue
        r.gravity = gravity.rawValue
        r.constraintAdjustment = adjust
        return r
    }

    @Test func unconstrainedPopupKeepsItsPlace() {
        let r = rules(anchorRect: Rect(x: 10, y: 10, width: 0, height: 0), anchor: XDG_POSITIONER_ANCHOR_TOP_LEFT,
                      gravity: XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT, size: (30, 30), adjust: 0xF)
        #expect(r.constrained(to: bounds) == Rect(x: 10, y: 10, width: 30, height: 30))
    }

    @Test func flipXWhenThatFits() {
        // Anchored at the right edge growing right would cross x = 150: flipped, it grows left.
        let r = rules(anchorRect: Rect(x: 130, y: 0, width: 10, height: 10), anchor: XDG_POSITIONER_ANCHOR_RIGHT,
                      gravity: XDG_POSITIONER_GRAVITY_RIGHT, size: (40, 10), adjust: XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_FLIP_X.rawValue)
        #expect(r.geometry.x == 140)
        #expect(r.constrained(to: bounds) == Rect(x: 90, y: 0, width: 40, height: 10))
    }

    @Test func slideYIntoView() {
        let r = rules(anchorRect: Rect(x: 0, y: 60, width: 10, height: 10), anchor: XDG_POSITIONER_ANCHOR_BOTTOM,
                      gravity: XDG_POSITIONER_GRAVITY_BOTTOM, size: (10, 30), adjust: XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_SLIDE_Y.rawValue)
        #expect(r.constrained(to: bounds) == Rect(x: 0, y: 50, width: 10, height: 30))
    }

    @Test func resizeKeepsTheVisiblePart() {
        let r = rules(anchorRect: Rect(x: -60, y: 0, width: 10, height: 10), anchor: XDG_POSITIONER_ANCHOR_LEFT,
                      gravity: XDG_POSITIONER_GRAVITY_RIGHT, size: (40, 10), adjust: XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_RESIZE_X.rawValue)
        #expect(r.constrained(to: bounds) == Rect(x: -50, y: 0, width: 30, height: 10))
    }

    @Test func noAdjustmentAllowedLeavesItConstrained() {
        let r = rules(anchorRect: Rect(x: 140, y: 0, width: 10, height: 10), anchor: XDG_POSITIONER_ANCHOR_RIGHT,
                      gravity: XDG_POSITIONER_GRAVITY_RIGHT, size: (40, 10), adjust: 0)
        #expect(r.constrained(to: bounds) == r.geometry)
    }
}
