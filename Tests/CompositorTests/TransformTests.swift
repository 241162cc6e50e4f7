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

@Suite struct TransformTests {
    @Test func inverseRoundTripsEveryRect() {
        let r = Rect(x: 3, y: 5, width: 7, height: 11)
        for t in BufferTransform.allCases {
            let (w, h): (Int32, Int32) = (40, 30)
            let mapped = t.apply(r, width: w, height: h)
            let (mw, mh) = t.swapsAxes ? (h, w) : (w, h)
            #expect(t.inverse.apply(mapped, width: mw, height: mh) == r, "transform \(t)")
        }
    }

    @Test func rotate90MovesTopLeftToTopRight() {
        // A 1×1 rect at the top-left of a 10×4 space lands at the top-right of the 4×10 result.
        #expect(BufferTransform.rotate90.apply(Rect(x: 0, y: 0, width: 1, height: 1), width: 10, height: 4)
                == Rect(x: 3, y: 0, width: 1, height: 1))
    }
}
