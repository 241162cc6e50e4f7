import CPixman
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

    // MARK: Inline forms (no allocation) and their fast paths

    private static let square = Rect(x: 0, y: 0, width: 10, height: 10)

    @Test func emptyAndSingleRectsAreInline() {
        #expect(!Region().usesStorage)
        #expect(!Region(Self.square).usesStorage)
        #expect(!Region.infinite.usesStorage)
        var r = Region()
        r.formUnion(Self.square)
        #expect(!r.usesStorage)
        #expect(r == Region(Self.square))
        #expect(r.rects == [Self.square])
        r.formUnion(Region())
        #expect(r == Region(Self.square) && !r.usesStorage)
    }

    @Test func unionOfNestedRectsIsTheOuter() {
        var r = Region(Self.square)
        r.formUnion(Rect(x: 2, y: 2, width: 3, height: 3))
        #expect(r == Region(Self.square) && !r.usesStorage)
        r.formUnion(Rect(x: -1, y: -1, width: 20, height: 20))
        #expect(r == Region(Rect(x: -1, y: -1, width: 20, height: 20)) && !r.usesStorage)
    }

    @Test(arguments: [
        // Same y-span, touching and overlapping in x.
        (Rect(x: 0, y: 0, width: 5, height: 10), Rect(x: 5, y: 0, width: 5, height: 10)),
        (Rect(x: 3, y: 0, width: 7, height: 10), Rect(x: 0, y: 0, width: 6, height: 10)),
        // Same x-span, touching and overlapping in y.
        (Rect(x: 0, y: 0, width: 10, height: 4), Rect(x: 0, y: 4, width: 10, height: 6)),
        (Rect(x: 0, y: 5, width: 10, height: 5), Rect(x: 0, y: 0, width: 10, height: 7)),
    ])
    func unionOfHalvesIsOneRect(a: Rect, b: Rect) {
        var r = Region(a)
        r.formUnion(b)
        #expect(r == Region(Self.square))
        #expect(r.rects == [Self.square])
        #expect(!r.usesStorage)
    }

    @Test func unionOfRectsThatAreNotOneRectIsComplexUntilDemoted() {
        var r = Region(Rect(x: 0, y: 0, width: 5, height: 10))
        r.formUnion(Rect(x: 6, y: 0, width: 4, height: 10)) // a one-pixel gap
        #expect(r.usesStorage && r.rects.count == 2)
        r.formUnion(Rect(x: 5, y: 0, width: 1, height: 10))
        #expect(r == Region(Self.square) && !r.usesStorage)
        r.formUnion(Rect(x: 5, y: 5, width: 10, height: 10)) // overlapping, different spans
        #expect(r.usesStorage && r.area == 175)
        r.formIntersection(Self.square)
        #expect(r == Region(Self.square) && !r.usesStorage)
    }

    @Test func intersectionOfRects() {
        var r = Region(Self.square)
        r.formIntersection(Rect(x: 5, y: -5, width: 20, height: 10))
        #expect(r == Region(Rect(x: 5, y: 0, width: 5, height: 5)) && !r.usesStorage)
        r.formIntersection(Region(Rect(x: 6, y: 1, width: 1, height: 1)))
        #expect(r == Region(Rect(x: 6, y: 1, width: 1, height: 1)) && !r.usesStorage)
    }

    @Test func emptyResultsKeepPixmansCorner() {
        // pixman empties a region by setting x2 = x1 and y2 = y1, and compares extents in
        // pixman_region32_equal; screencopy reads the extents of such an intersection.
        var r = Region(Rect(x: 10, y: 20, width: 5, height: 5))
        r.formIntersection(Rect(x: 100, y: 100, width: 1, height: 1))
        #expect(r.isEmpty && r.extents == Rect(x: 10, y: 20, width: 0, height: 0))
        #expect(r != Region())
        r.translate(dx: -10, dy: -20)
        #expect(r == Region())
        r.formIntersection(Rect(x: 0, y: 0, width: 0, height: 5)) // an empty rect clears
        #expect(r == Region())
        var s = Region(Rect(x: 3, y: 4, width: 5, height: 5))
        s.subtract(Rect(x: 0, y: 0, width: 20, height: 20))
        #expect(s.isEmpty && s.extents == Rect(x: 3, y: 4, width: 0, height: 0) && !s.usesStorage)
        var t = Region()
        t.formUnion(s) // an empty first operand becomes a copy of the second, corner included
        #expect(t == s)
    }

    @Test func translatedRect() {
        let r = Region(Self.square).translated(dx: -3, dy: 7)
        #expect(r == Region(Rect(x: -3, y: 7, width: 10, height: 10)) && !r.usesStorage)
    }

    @Test(arguments: [
        (Int32.max - 5, 0), (Int32.max, 0), (0, Int32.min), (Int32.min + 3, Int32.max), (-20, 0),
    ] as [(Int32, Int32)])
    func translateNearTheLimitsIsPixmans(dx: Int32, dy: Int32) {
        for base in [Self.square, Rect(x: -15, y: -15, width: 10, height: 10), Rect(x: Int32.max - 20, y: 0, width: 10, height: 10)] {
            let reference = Reference(base)
            reference.apply { pixman_region32_translate($0, dx, dy) }
            let r = Region(base).translated(dx: dx, dy: dy)
            #expect(reference.mismatch(r) == nil, "\(base) by \(dx), \(dy)")
            let empty = Reference(Rect(x: 0, y: 0, width: 0, height: 0))
            empty.apply { pixman_region32_translate($0, dx, dy) }
            #expect(empty.mismatch(Region().translated(dx: dx, dy: dy)) == nil)
        }
    }

    @Test(arguments: [
        (Rect(x: -5, y: -5, width: 8, height: 20), Rect(x: 3, y: 0, width: 7, height: 10)), // left side
        (Rect(x: 7, y: 0, width: 8, height: 10), Rect(x: 0, y: 0, width: 7, height: 10)), // right side
        (Rect(x: 0, y: -1, width: 10, height: 5), Rect(x: 0, y: 4, width: 10, height: 6)), // top
        (Rect(x: -1, y: 6, width: 12, height: 9), Rect(x: 0, y: 0, width: 10, height: 6)), // bottom
    ])
    func subtractLeavingOneRect(cut: Rect, rest: Rect) {
        var r = Region(Self.square)
        r.subtract(cut)
        #expect(r == Region(rest) && !r.usesStorage)
        r.subtract(Rect(x: 100, y: 100, width: 1, height: 1)) // disjoint: unchanged
        #expect(r == Region(rest))
    }

    @Test func subtractingAHoleThenFillingItIsTheRect() {
        var r = Region(Self.square)
        r.subtract(Rect(x: 4, y: 4, width: 2, height: 2))
        #expect(r.usesStorage && r.rects.count == 4 && r.area == 96)
        r.formUnion(Rect(x: 4, y: 4, width: 2, height: 2))
        #expect(r == Region(Self.square) && !r.usesStorage)
        r.subtract(Region(Self.square))
        #expect(r.isEmpty && !r.usesStorage)
    }

    @Test func sharedStorageIsCopiedOnWrite() {
        var a = Region(Self.square)
        a.subtract(Rect(x: 4, y: 4, width: 2, height: 2))
        let snapshot = a
        var b = a
        b.formIntersection(Rect(x: 0, y: 0, width: 5, height: 5))
        #expect(a == snapshot && a.area == 96)
        #expect(b.area == 24)
        var c = a
        c.formUnion(c)
        #expect(c == a)
        c.formIntersection(c)
        #expect(c == a)
        c.subtract(c)
        #expect(c.isEmpty && c.extents == Rect(x: 0, y: 0, width: 0, height: 0))
        var d = a
        d.translate(dx: 1, dy: 1)
        #expect(a == snapshot && d.extents == Rect(x: 1, y: 1, width: 10, height: 10))
    }

    @Test func pixmanViewOfInlineRegions() {
        for region in [Region(), Region(Self.square), Region(Self.square).intersection(Rect(x: 50, y: 60, width: 1, height: 1))] {
            let reference = Reference(Rect(x: 0, y: 0, width: 0, height: 0))
            region.withPixmanRegion { _ = pixman_region32_copy(reference.region, $0) }
            #expect(reference.mismatch(region) == nil)
        }
    }

    @Test func mapRectsOfEachForm() {
        let shift = { (r: Rect) in Rect(x: r.x * 2, y: r.y, width: r.width * 2, height: r.height) }
        #expect(Region().mapRects(shift) == Region())
        #expect(Region(Self.square).mapRects(shift) == Region(Rect(x: 0, y: 0, width: 20, height: 10)))
        var holed = Region(Self.square)
        holed.subtract(Rect(x: 4, y: 4, width: 2, height: 2))
        #expect(holed.mapRects(shift).area == 192)
    }

    // MARK: Differential test against pixman

    /// Random operations on a few regions, each mirrored on a pixman region exactly as `Region` did
    /// before it kept simple regions inline: every observable must stay pixman's.
    @Test(arguments: [UInt64(1), 0x9E37_79B9_7F4A_7C15, 42, 0xDEAD_BEEF])
    func agreesWithPixman(seed: UInt64) {
        var rng = XorShift(seed: seed)
        let slots = 4
        var regions = [Region](repeating: Region(), count: slots)
        var references = (0..<slots).map { _ in Reference(Rect(x: 0, y: 0, width: 0, height: 0)) }
        for step in 0..<5_000 {
            let i = rng.below(slots), j = rng.below(slots)
            let rect = rng.rect()
            let op = rng.below(16)
            switch op {
            case 0, 1:
                regions[i].formUnion(rect)
                references[i].union(rect)
            case 2:
                let other = regions[j]
                regions[i].formUnion(other)
                references[i].apply(references[j]) { pixman_region32_union($0, $0, $1) }
            case 3:
                regions[i].subtract(rect)
                references[i].apply(Reference(rect)) { pixman_region32_subtract($0, $0, $1) }
            case 4:
                let other = regions[j]
                regions[i].subtract(other)
                references[i].apply(references[j]) { pixman_region32_subtract($0, $0, $1) }
            case 5:
                regions[i].formIntersection(rect)
                if let box = Reference.clamped(rect) {
                    references[i].apply { pixman_region32_intersect_rect($0, $0, box.x, box.y, box.w, box.h) }
                } else {
                    references[i].apply { pixman_region32_clear($0) }
                }
            case 6:
                let other = regions[j]
                regions[i].formIntersection(other)
                references[i].apply(references[j]) { pixman_region32_intersect($0, $0, $1) }
            case 7:
                let (dx, dy) = rng.offset()
                regions[i].translate(dx: dx, dy: dy)
                references[i].apply { pixman_region32_translate($0, dx, dy) }
            case 8:
                regions[i] = regions[j] // shares storage: later writes must copy
                references[i].apply(references[j]) { _ = pixman_region32_copy($0, $1) }
            case 9:
                let k = rng.below(slots)
                regions[i] = regions[j].union(regions[k])
                let result = references[j].copy()
                result.apply(references[k]) { pixman_region32_union($0, $0, $1) }
                references[i] = result
            case 10:
                regions[i] = regions[j].intersection(rect)
                references[i] = references[j].copy()
                if let box = Reference.clamped(rect) {
                    references[i].apply { pixman_region32_intersect_rect($0, $0, box.x, box.y, box.w, box.h) }
                } else {
                    references[i].apply { pixman_region32_clear($0) }
                }
            case 11:
                let (dx, dy) = rng.offset()
                regions[i] = regions[j].translated(dx: dx, dy: dy)
                references[i] = references[j].copy()
                references[i].apply { pixman_region32_translate($0, dx, dy) }
            case 12:
                let infinite = rng.below(8) == 0
                regions[i] = infinite ? Region.infinite : Region(rect)
                references[i] = Reference(infinite ? Reference.infinite : rect)
            case 13:
                regions[i].clear()
                references[i].apply { pixman_region32_clear($0) }
            case 14:
                let (dx, dy) = rng.offset()
                let move = { (r: Rect) in Rect(x: r.x &+ dx, y: r.y &+ dy, width: r.width, height: r.height) }
                regions[i] = regions[j].mapRects(move)
                let mapped = Reference(Rect(x: 0, y: 0, width: 0, height: 0))
                for r in references[j].rects { mapped.union(move(r)) }
                references[i] = mapped
            default:
                regions[i].formUnion(Region(rect))
                references[i].apply(Reference(rect)) { pixman_region32_union($0, $0, $1) }
            }
            for k in 0..<slots {
                if let problem = references[k].mismatch(regions[k], probe: rng.rect()) {
                    Issue.record("seed \(seed) step \(step) op \(op) slot \(k): \(problem)")
                    return
                }
                for l in 0..<slots {
                    let expected = pixman_region32_equal(references[k].region, references[l].region) != 0
                    if (regions[k] == regions[l]) != expected {
                        Issue.record("seed \(seed) step \(step) op \(op): slots \(k), \(l) == is \(!expected)")
                        return
                    }
                }
            }
            // pixman_region32_translate wraps past the limits, which can leave boxes inverted or out of
            // order. Checked above; further operations on such regions only exercise pixman's
            // assertions, so they start again from empty.
            for k in 0..<slots where pixman_region32_selfcheck(references[k].region) == 0 {
                regions[k] = Region()
                references[k] = Reference(Rect(x: 0, y: 0, width: 0, height: 0))
            }
        }
    }
}

/// A pixman region driven directly, as `Region` did before it kept simple regions inline.
private final class Reference {
    let region = UnsafeMutablePointer<pixman_region32_t>.allocate(capacity: 1)

    static let infinite = Rect(x: Int32.min / 2, y: Int32.min / 2, width: Int32.max, height: Int32.max)

    /// The old `Region(rect)`: an empty region, then the clamped rectangle added.
    init(_ rect: Rect) {
        pixman_region32_init(region)
        union(rect)
    }

    deinit {
        pixman_region32_fini(region)
        region.deallocate()
    }

    /// The old `Region.clamped`.
    static func clamped(_ r: Rect) -> (x: Int32, y: Int32, w: UInt32, h: UInt32)? {
        guard !r.isEmpty else { return nil }
        let limit = Int64(Int32.max)
        let x2 = min(Int64(r.x) + Int64(r.width), limit)
        let y2 = min(Int64(r.y) + Int64(r.height), limit)
        guard x2 > Int64(r.x), y2 > Int64(r.y) else { return nil }
        return (r.x, r.y, UInt32(x2 - Int64(r.x)), UInt32(y2 - Int64(r.y)))
    }

    func copy() -> Reference {
        let c = Reference(Rect(x: 0, y: 0, width: 0, height: 0))
        c.apply(self) { _ = pixman_region32_copy($0, $1) }
        return c
    }

    func apply(_ op: (UnsafeMutablePointer<pixman_region32_t>) -> Void) { op(region) }

    func apply(_ other: Reference,
               _ op: (UnsafeMutablePointer<pixman_region32_t>, UnsafeMutablePointer<pixman_region32_t>) -> Void) {
        op(region, other.region)
    }

    func union(_ rect: Rect) {
        guard let b = Reference.clamped(rect) else { return }
        pixman_region32_union_rect(region, region, b.x, b.y, b.w, b.h)
    }

    var rects: [Rect] {
        var count: Int32 = 0
        guard let boxes = pixman_region32_rectangles(region, &count) else { return [] }
        return (0..<Int(count)).map { i in
            let b = boxes[i]
            return Rect(x: b.x1, y: b.y1, width: Int32(clamping: Int64(b.x2) - Int64(b.x1)),
                        height: Int32(clamping: Int64(b.y2) - Int64(b.y1)))
        }
    }

    /// How `r` differs from this region in what `Region` exposes, or nil.
    func mismatch(_ r: Region, probe: Rect = Rect(x: 0, y: 0, width: 0, height: 0)) -> String? {
        let e = region.pointee.extents
        let extents = Rect(x: e.x1, y: e.y1, width: e.x2 &- e.x1, height: e.y2 &- e.y1)
        if r.extents != extents { return "extents \(r.extents), pixman \(extents)" }
        let rects = self.rects
        if r.rects != rects { return "rects \(r.rects), pixman \(rects)" }
        let empty = pixman_region32_not_empty(region) == 0
        if r.isEmpty != empty { return "isEmpty \(r.isEmpty), pixman \(empty)" }
        let area = rects.reduce(Int64(0)) { $0 + Int64($1.width) * Int64($1.height) }
        if r.area != area { return "area \(r.area), pixman \(area)" }
        let points = [(probe.x, probe.y), (e.x1, e.y1), (e.x2 &- 1, e.y2 &- 1), (e.x2, e.y1), (e.x1 &- 1, e.y2 &- 1)]
        for (x, y) in points {
            let inside = pixman_region32_contains_point(region, x, y, nil) != 0
            if r.contains(x: x, y: y) != inside { return "contains(\(x), \(y)) \(!inside)" }
        }
        let description = empty ? "∅" : rects.map(\.description).joined(separator: " ∪ ")
        if r.description != description { return "description \(r.description), pixman \(description)" }
        let same = r.withPixmanRegion { pixman_region32_equal($0, region) != 0 }
        if !same { return "withPixmanRegion differs" }
        return nil
    }
}

/// xorshift64: a reproducible sequence without Foundation.
private struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func small(_ lo: Int32, _ hi: Int32) -> Int32 { lo + Int32(below(Int(hi - lo) + 1)) }

    /// Mostly small rectangles that overlap often (some empty or negative), some at the limits.
    mutating func rect() -> Rect {
        switch below(20) {
        case 0:
            return Rect(x: Int32.max - small(0, 8), y: small(-4, 12), width: small(1, 10), height: small(1, 10))
        case 1:
            return Rect(x: Int32.min + small(0, 8), y: Int32.min + small(0, 8), width: Int32.max, height: small(1, 10))
        case 2:
            return Rect(x: small(-4, 12), y: small(-4, 12), width: Int32.max, height: Int32.max)
        case 3:
            return Reference.infinite
        default:
            return Rect(x: small(-4, 16), y: small(-4, 16), width: small(-2, 12), height: small(-2, 12))
        }
    }

    /// Mostly small translations, some that reach past the coordinate limits.
    mutating func offset() -> (Int32, Int32) {
        switch below(12) {
        case 0: return (Int32.max - small(0, 20), small(-3, 3))
        case 1: return (small(-3, 3), Int32.min + small(0, 20))
        case 2: return (Int32.min / 2, Int32.max / 2)
        default: return (small(-6, 6), small(-6, 6))
        }
    }
}
