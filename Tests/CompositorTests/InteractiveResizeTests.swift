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

/// The window geometry an interactive resize asks for, per dragged edge (resize_edge bits).
@Suite struct InteractiveResizeTests {
    let start = Rect(x: 100, y: 100, width: 420, height: 390)

    @Test func topLeftMovesTheCornerAndKeepsTheOppositeEdges() {
        #expect(ResizeGrab.resized(start, edges: 5, dx: 60, dy: -40) == Rect(x: 160, y: 60, width: 360, height: 430))
    }

    @Test func bottomRightOnlyGrows() {
        #expect(ResizeGrab.resized(start, edges: 10, dx: 10, dy: 20) == Rect(x: 100, y: 100, width: 430, height: 410))
    }

    @Test func rightEdgeIgnoresVerticalMotion() {
        #expect(ResizeGrab.resized(start, edges: 8, dx: -20, dy: 50) == Rect(x: 100, y: 100, width: 400, height: 390))
    }

    @Test func neverSmallerThanOnePixel() {
        #expect(ResizeGrab.resized(start, edges: 5, dx: 1000, dy: 1000) == Rect(x: 519, y: 489, width: 1, height: 1))
        #expect(ResizeGrab.resized(start, edges: 10, dx: -1000, dy: -1000) == Rect(x: 100, y: 100, width: 1, height: 1))
    }
}
