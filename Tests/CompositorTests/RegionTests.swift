import Testing
@testable import Compositor

@Suite struct RegionTests {
    @Test func unionOfOverlappingRectsCountsEachPixelOnce() {
        var r = Region(Rect(x: 0, y: 0, width: 10, height: 10))
        r.formUnion(Rect(x: 5, y: 5, width: 10, height: 10))
        #expect(r.area == 175)
        #expect(r.extents == Rect(x: 0, y: 0, width: 15, height: 15))
        #expect(r.contains(x: 14, y: 14))
        #expect(!r.contains(x: 14, y: 0))
    }

    @Test func subtractAndIntersect() {
        var r = Region(Rect(x: 0, y: 0, width: 100, height: 100))
        r.subtract(Rect(x: 25, y: 25, width: 50, height: 50))
        #expect(r.area == 10_000 - 2_500)
        #expect(!r.contains(x: 50, y: 50))
        r.formIntersection(Rect(x: 0, y: 0, width: 30, height: 30))
        #expect(r.area == 900 - 25)
    }

    @Test func emptyAndNegativeRectsAddNothing() {
        var r = Region()
        r.formUnion(Rect(x: 0, y: 0, width: 0, height: 10))
        r.formUnion(Rect(x: 0, y: 0, width: -5, height: 10))
        #expect(r.isEmpty)
        #expect(r == Region())
    }

    @Test func hugeDamageIsClampedNotWrapped() {
        // Clients damage "everything" with INT32_MAX sizes; x + width must not overflow.
        var r = Region(Rect(x: 10, y: 10, width: Int32.max, height: Int32.max))
        #expect(!r.isEmpty)
        r.formIntersection(Rect(x: 0, y: 0, width: 1920, height: 1080))
        #expect(r == Region(Rect(x: 10, y: 10, width: 1910, height: 1070)))
    }

    @Test func valueSemantics() {
        let a = Region(Rect(x: 0, y: 0, width: 4, height: 4))
        var b = a
        b.formUnion(Rect(x: 10, y: 10, width: 4, height: 4))
        #expect(a.area == 16)
        #expect(b.area == 32)
        #expect(a.translated(dx: 3, dy: -1).extents == Rect(x: 3, y: -1, width: 4, height: 4))
    }
}
