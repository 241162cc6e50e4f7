import CWayland
import SceneGraph
import Buffers
import SurfaceModel
import Protocols
import WaylandCore

/// The seat's touch: its clients' wl_touch objects and the touch points, each bound to the
/// surface it went down on.
package final class SeatTouch {
    private let seat: SeatContext
    private let scene: Scene
    package var touches: [WlTouch] = []

    private struct TouchPoint {
        package let surface: Surface
        package let client: OpaquePointer
    }
    /// Strong, like the pointer's focus; `surfaceDestroyed` ends the points on a surface.
    private var points: [Int32: TouchPoint] = [:]

    package init(context: SeatContext, scene: Scene) {
        seat = context
        self.scene = scene
    }

    package func down(id: Int32, x: Double, y: Double) {
        var target = scene.surfaceAt(x: x, y: y)
        if seat.delegate?.pressDismissesPopupGrabs(on: target?.surface) == true {
            target = scene.surfaceAt(x: x, y: y)  // the dismissed popups left the scene
        }
        seat.delegate?.focusWindow(containing: target?.surface)
        guard let hit = target, let r = hit.surface.resource, let c = SeatContext.client(of: hit.surface) else { return }
        points[id] = TouchPoint(surface: hit.surface, client: c)
        let serial = seat.inputSerial(for: c)
        let time = SeatContext.now
        for t in touches where t.client == c {
            wl_touch_send_down(t.resource, serial, time, r, id, wl_fixed_from_double(hit.sx), wl_fixed_from_double(hit.sy))
            wl_touch_send_frame(t.resource)
        }
    }

    /// Motion stays with the surface the point went down on, even outside it.
    package func motion(id: Int32, x: Double, y: Double) {
        guard let point = points[id], !point.surface.isDestroyed, let o = point.surface.outputOrigin else { return }
        let time = SeatContext.now
        for t in touches where t.client == point.client {
            wl_touch_send_motion(t.resource, time, id, wl_fixed_from_double(x - Double(o.x)), wl_fixed_from_double(y - Double(o.y)))
            wl_touch_send_frame(t.resource)
        }
    }

    package func up(id: Int32) {
        guard let point = points.removeValue(forKey: id) else { return }
        let serial = seat.nextSerial()
        let time = SeatContext.now
        for t in touches where t.client == point.client {
            wl_touch_send_up(t.resource, serial, time, id)
            wl_touch_send_frame(t.resource)
        }
    }

    package func surfaceDestroyed(_ surface: Surface) {
        for (id, point) in points where point.surface === surface || point.surface.isDestroyed {
            up(id: id)
        }
    }
}
