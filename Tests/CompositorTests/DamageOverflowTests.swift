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

/// Found by protocol-fuzz (seed 103, session 42029): `wl_surface.damage_buffer(1, 6, INT32_MAX, 74)`
/// on a surface with buffer scale 3 made the buffer-to-surface damage conversion overflow Int32
/// (`x + width + scale - 1`) and compositord trapped. Damage rectangles are client values up to
/// INT32_MAX, scales any positive Int32, and regions can span more than INT32_MAX.
@Suite struct DamageOverflowTests {
    func size(_ b: Buffer) -> (Int32, Int32) { (b.width, b.height) }

    static let hugeRects = [
        Rect(x: 1, y: 6, width: Int32.max, height: 74),
        Rect(x: Int32.min, y: Int32.min, width: Int32.max, height: Int32.max),
        Rect(x: Int32.max - 1, y: Int32.max - 1, width: Int32.max, height: Int32.max),
        Rect(x: 0, y: 0, width: Int32.max, height: Int32.max),
    ]

    @Test(arguments: [Int32(1), 3, Int32.max], BufferTransform.allCases)
    func hugeBufferDamageIsClippedToTheSurface(scale: Int32, transform: BufferTransform) throws {
        let buffer = try makeShmBuffer(width: 151, height: 177) { _, _ in 0 }
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        pending.attachment = .attached(buffer)
        pending.bufferScale = scale
        pending.bufferTransform = transform
        _ = current.apply(&pending, bufferSize: size)
        for r in Self.hugeRects { pending.bufferDamage.formUnion(r) }
        let result = current.apply(&pending, bufferSize: size)
        let surface = Rect(x: 0, y: 0, width: current.width, height: current.height)
        #expect(result.damage == result.damage.intersection(surface))
        // (At scale INT32_MAX the 151×177 buffer makes an empty surface.)
        if !surface.isEmpty { #expect(!result.damage.isEmpty, "damage over the whole buffer damages the surface") }
    }

    @Test func aRegionWiderThanInt32MaxHasRects() {
        var region = Region(Rect(x: Int32.min, y: 0, width: Int32.max, height: 1))
        region.formUnion(Rect(x: -2, y: 0, width: Int32.max, height: 1))
        #expect(region.rects.count == 1, "the two overlap: one box from INT32_MIN to INT32_MAX - 2")
        #expect(!region.rects.isEmpty)
        #expect(region.area > 0)
    }
}
