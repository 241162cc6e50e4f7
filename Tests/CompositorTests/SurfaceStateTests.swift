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

@Suite struct SurfaceStateTests {
    func size(_ b: Buffer) -> (Int32, Int32) { (b.width, b.height) }

    @Test func pendingStateIsInvisibleUntilCommit() throws {
        let buffer = try makeShmBuffer(width: 8, height: 4) { _, _ in 0xFF00_0000 }
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        pending.attachment = .attached(buffer)
        pending.bufferScale = 2
        #expect(current.buffer == nil)
        #expect(current.bufferScale == 1)
        let result = current.apply(&pending, bufferSize: size)
        #expect(current.buffer === buffer)
        #expect((current.width, current.height) == (4, 2))
        #expect(result.geometryChanged)
        #expect(result.damage == Region(Rect(x: 0, y: 0, width: 4, height: 2)))
        // Pending was reset: a second commit changes nothing.
        let again = current.apply(&pending, bufferSize: size)
        #expect(current.buffer === buffer)
        #expect(again.damage.isEmpty)
        #expect(!again.geometryChanged)
        #expect(again.replacedBuffer == nil)
    }

    @Test func damageAccumulatesAndIsClippedToTheSurface() throws {
        let buffer = try makeShmBuffer(width: 100, height: 100) { _, _ in 0 }
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        pending.attachment = .attached(buffer)
        _ = current.apply(&pending, bufferSize: size)

        pending.surfaceDamage.formUnion(Rect(x: 0, y: 0, width: 10, height: 10))
        pending.surfaceDamage.formUnion(Rect(x: 90, y: 90, width: 50, height: 50))
        pending.bufferDamage.formUnion(Rect(x: 20, y: 20, width: 5, height: 5))
        let r = current.apply(&pending, bufferSize: size)
        #expect(r.damage.area == 100 + 100 + 25)
        #expect(!r.damage.contains(x: 100, y: 100))
        #expect(pending.surfaceDamage.isEmpty && pending.bufferDamage.isEmpty)
    }

    @Test func bufferDamageIsConvertedThroughScaleAndTransform() throws {
        let buffer = try makeShmBuffer(width: 40, height: 20) { _, _ in 0 }
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        pending.attachment = .attached(buffer)
        pending.bufferScale = 2
        pending.bufferTransform = .rotate90
        _ = current.apply(&pending, bufferSize: size)
        // 40×20 buffer rotated 90° at scale 2 is a 10×20 surface.
        #expect((current.width, current.height) == (10, 20))
        // Buffer pixels (0,0)-(4,4) under transform 90: surface = inverse(270) of the buffer rect,
        // i.e. x = y, y = 40 − x − w → (0, 36, 4, 4) in buffer units, (0, 18, 2, 2) at scale 2.
        pending.bufferDamage.formUnion(Rect(x: 0, y: 0, width: 4, height: 4))
        let r = current.apply(&pending, bufferSize: size)
        #expect(r.damage == Region(Rect(x: 0, y: 18, width: 2, height: 2)))
    }

    @Test func replacedBufferIsReportedForReleaseButNotWhenReattached() throws {
        let a = try makeShmBuffer(width: 4, height: 4) { _, _ in 0 }
        let b = try makeShmBuffer(width: 4, height: 4) { _, _ in 0 }
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        pending.attachment = .attached(a)
        #expect(current.apply(&pending, bufferSize: size).replacedBuffer == nil)
        pending.attachment = .attached(a)
        #expect(current.apply(&pending, bufferSize: size).replacedBuffer == nil)
        pending.attachment = .attached(b)
        #expect(current.apply(&pending, bufferSize: size).replacedBuffer === a)
        pending.attachment = .attached(nil)
        let detach = current.apply(&pending, bufferSize: size)
        #expect(detach.replacedBuffer === b)
        #expect(detach.geometryChanged)
        #expect((current.width, current.height) == (0, 0))
    }

    @Test func regionsDefaultAndReplace() {
        var pending = SurfaceState<Buffer>()
        var current = CommittedSurfaceState<Buffer>()
        #expect(current.opaqueRegion.isEmpty)
        #expect(current.inputRegion.contains(x: 100_000, y: -100_000))
        pending.inputRegion = Region(Rect(x: 0, y: 0, width: 5, height: 5))
        let r = current.apply(&pending, bufferSize: { ($0.width, $0.height) })
        #expect(!current.inputRegion.contains(x: 6, y: 6))
        #expect(r.frameCallbacks.isEmpty)
    }
}
