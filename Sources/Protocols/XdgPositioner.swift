import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `xdg_positioner`: the rules for placing a popup relative to its parent.
package final class XdgPositioner: ResourceHandler {
    /// A copy of the rules, taken when a popup is created or repositioned.
    package struct Rules {
        package var width: Int32 = 0, height: Int32 = 0
        package var anchorRect = Rect(x: 0, y: 0, width: 0, height: 0)
        package var anchor: UInt32 = XDG_POSITIONER_ANCHOR_NONE.rawValue
        package var gravity: UInt32 = XDG_POSITIONER_GRAVITY_NONE.rawValue
        package var offsetX: Int32 = 0, offsetY: Int32 = 0
        package var constraintAdjustment: UInt32 = 0
        /// set_size and set_anchor_rect are required (a zero-size anchor rect is allowed).
        package var anchorRectSet = false
        package var isComplete: Bool { width > 0 && height > 0 && anchorRectSet }

        package init() {}

        /// The popup's rectangle relative to the parent's window geometry, before any constraint
        /// adjustment (see `XdgPositioner+Constraints.swift`).
        package var geometry: Rect {
            let a = anchorRect
            var x = a.x + a.width / 2, y = a.y + a.height / 2
            switch anchor {
            case XDG_POSITIONER_ANCHOR_TOP.rawValue: y = a.y
            case XDG_POSITIONER_ANCHOR_BOTTOM.rawValue: y = a.y + a.height
            case XDG_POSITIONER_ANCHOR_LEFT.rawValue: x = a.x
            case XDG_POSITIONER_ANCHOR_RIGHT.rawValue: x = a.x + a.width
            case XDG_POSITIONER_ANCHOR_TOP_LEFT.rawValue: (x, y) = (a.x, a.y)
            case XDG_POSITIONER_ANCHOR_BOTTOM_LEFT.rawValue: (x, y) = (a.x, a.y + a.height)
            case XDG_POSITIONER_ANCHOR_TOP_RIGHT.rawValue: (x, y) = (a.x + a.width, a.y)
            case XDG_POSITIONER_ANCHOR_BOTTOM_RIGHT.rawValue: (x, y) = (a.x + a.width, a.y + a.height)
            default: break
            }
            var px = x - width / 2, py = y - height / 2
            switch gravity {
            case XDG_POSITIONER_GRAVITY_TOP.rawValue: py = y - height
            case XDG_POSITIONER_GRAVITY_BOTTOM.rawValue: py = y
            case XDG_POSITIONER_GRAVITY_LEFT.rawValue: px = x - width
            case XDG_POSITIONER_GRAVITY_RIGHT.rawValue: px = x
            case XDG_POSITIONER_GRAVITY_TOP_LEFT.rawValue: (px, py) = (x - width, y - height)
            case XDG_POSITIONER_GRAVITY_BOTTOM_LEFT.rawValue: (px, py) = (x - width, y)
            case XDG_POSITIONER_GRAVITY_TOP_RIGHT.rawValue: (px, py) = (x, y - height)
            case XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT.rawValue: (px, py) = (x, y)
            default: break
            }
            return Rect(x: px + offsetX, y: py + offsetY, width: width, height: height)
        }
    }

    private unowned let context: ProtocolContext
    package private(set) var rules = Rules()

    package init(context: ProtocolContext) { self.context = context }

    package func handle(_ request: Request) {
        switch XdgPositionerRequest(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .setSize(width, height)?:
            guard width > 0, height > 0 else {
                return invalid(request, "size \(width)x\(height) must be positive")
            }
            (rules.width, rules.height) = (width, height)
        case let .setAnchorRect(x, y, width, height)?:
            let r = Rect(x: x, y: y, width: width, height: height)
            guard r.width >= 0, r.height >= 0 else { return invalid(request, "anchor rect \(r) has a negative size") }
            rules.anchorRect = r
            rules.anchorRectSet = true
        case let .setAnchor(anchor)?:
            guard anchor <= XDG_POSITIONER_ANCHOR_BOTTOM_RIGHT.rawValue else { return invalid(request, "unknown anchor \(anchor)") }
            rules.anchor = anchor
        case let .setGravity(gravity)?:
            guard gravity <= XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT.rawValue else { return invalid(request, "unknown gravity \(gravity)") }
            rules.gravity = gravity
        case let .setOffset(x, y)?:
            (rules.offsetX, rules.offsetY) = (x, y)
        case let .setConstraintAdjustment(constraintAdjustment)?:
            rules.constraintAdjustment = constraintAdjustment
        case .setReactive?, .setParentSize?, .setParentConfigure?, nil:
            break  // reactive, parent size/configure: the parent never changes under a popup here
        }
    }

    private func invalid(_ request: Request, _ message: String) {
        context.post(XdgPositionerError.invalidInput, on: request.resource, message)
    }
}
