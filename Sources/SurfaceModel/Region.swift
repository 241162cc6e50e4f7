import CPixman

/// An integer rectangle; `width`/`height` may be zero (empty).
public struct Rect: Equatable, Sendable, CustomStringConvertible {
    public var x: Int32, y: Int32, width: Int32, height: Int32
    public init(x: Int32, y: Int32, width: Int32, height: Int32) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// A set of pixels as a union of rectangles (pixman_region32), with value semantics.
///
/// Used for wl_region, surface damage (surface and buffer coordinates), opaque and input regions,
/// and output damage. Coordinates are clamped to pixman's 32-bit box range, so a client's
/// `damage(0, 0, INT32_MAX, INT32_MAX)` ("everything") is representable.
///
/// Every commit builds several regions and nearly all are empty or one rectangle, so those are held
/// inline and their common operations computed here without allocating; any other region is a
/// pixman region in one heap object, demoted again when a result becomes simple. Results are
/// exactly pixman's, quirks included: an empty result keeps a corner (pixman sets x2 = x1 and
/// y2 = y1), which `extents` and `==` see.
public struct Region: Equatable, Sendable, CustomStringConvertible {
    private var repr: Repr

    public init() { repr = .empty(x: 0, y: 0) }

    public init(_ rect: Rect) {
        if let box = Region.clamped(rect) { repr = .rect(box) } else { repr = .empty(x: 0, y: 0) }
    }

    private init(_ repr: Repr) { self.repr = repr }

    /// An unbounded region: the default input region of a surface ("infinite" in the spec).
    public static var infinite: Region {
        Region(Rect(x: Int32.min / 2, y: Int32.min / 2, width: Int32.max, height: Int32.max))
    }

    public var isEmpty: Bool {
        switch repr {
        case .empty: true
        case .rect: false
        case .complex(let storage): storage.withRegion { pixman_region32_not_empty($0) == 0 }
        }
    }

    /// The bounding box of the region.
    public var extents: Rect {
        let box = self.box
        return Rect(x: box.x1, y: box.y1, width: box.x2 &- box.x1, height: box.y2 &- box.y1)
    }

    /// The region's rectangles, y-x banded as pixman keeps them.
    public var rects: [Rect] {
        switch repr {
        case .empty: return []
        case .rect(let box): return [box.rect]
        case .complex(let storage):
            return storage.withRegion { region in
                var count: Int32 = 0
                guard let boxes = pixman_region32_rectangles(region, &count) else { return [] }
                return (0..<Int(count)).map { Box(boxes[$0]).rect }
            }
        }
    }

    /// Total pixel count (for tests and statistics).
    public var area: Int64 {
        switch repr {
        case .empty: 0
        case .rect(let box): Int64(box.rect.width) * Int64(box.rect.height)
        case .complex: rects.reduce(0) { $0 + Int64($1.width) * Int64($1.height) }
        }
    }

    public func contains(x: Int32, y: Int32) -> Bool {
        switch repr {
        case .empty: false
        case .rect(let b): b.x2 > x && b.x1 <= x && b.y2 > y && b.y1 <= y
        case .complex(let storage): storage.withRegion { pixman_region32_contains_point($0, x, y, nil) != 0 }
        }
    }

    public mutating func formUnion(_ rect: Rect) {
        guard let box = Region.clamped(rect) else { return }
        formUnion(Region(.rect(box)))
    }

    public mutating func formUnion(_ other: Region) {
        // pixman_region32_union's order of checks: an empty first operand gives a copy of the
        // second (even of its corner, when both are empty); an empty second changes nothing.
        if isEmpty { repr = other.repr; return }
        if other.isEmpty { return }
        if case .rect(let a) = repr, case .rect(let b) = other.repr, let union = Region.union(a, b) {
            repr = .rect(union)
            return
        }
        combine(other) { pixman_region32_union($0, $1, $2) }
    }

    public mutating func subtract(_ rect: Rect) {
        subtract(Region(rect))
    }

    public mutating func subtract(_ other: Region) {
        // pixman: nothing to subtract leaves the minuend as it is.
        if isEmpty || other.isEmpty || !box.overlaps(other.box) { return }
        if case .rect(let a) = repr, case .rect(let b) = other.repr, let difference = Region.difference(a, b) {
            repr = difference
            return
        }
        combine(other) { pixman_region32_subtract($0, $1, $2) }
    }

    public mutating func formIntersection(_ rect: Rect) {
        guard let box = Region.clamped(rect) else { clear(); return }
        formIntersection(Region(.rect(box)))
    }

    public mutating func formIntersection(_ other: Region) {
        let a = box, b = other.box
        // pixman's trivial reject: empty, at this region's corner.
        if isEmpty || other.isEmpty || !a.overlaps(b) { repr = .empty(x: a.x1, y: a.y1); return }
        if case .rect = repr, case .rect = other.repr {
            repr = .rect(Box(x1: max(a.x1, b.x1), y1: max(a.y1, b.y1), x2: min(a.x2, b.x2), y2: min(a.y2, b.y2)))
            return
        }
        combine(other) { pixman_region32_intersect($0, $1, $2) }
    }

    public mutating func translate(dx: Int32, dy: Int32) {
        // Shifted here only when no coordinate overflows; past the limits the result is whatever
        // pixman_region32_translate's arithmetic gives (pixman 0.42 wraps, leaving inverted boxes).
        switch repr {
        case .empty(let x, let y):
            let (nx, ox) = x.addingReportingOverflow(dx), (ny, oy) = y.addingReportingOverflow(dy)
            if !ox && !oy { repr = .empty(x: nx, y: ny); return }
        case .rect(let b):
            let (x1, o1) = b.x1.addingReportingOverflow(dx), (x2, o2) = b.x2.addingReportingOverflow(dx)
            let (y1, o3) = b.y1.addingReportingOverflow(dy), (y2, o4) = b.y2.addingReportingOverflow(dy)
            if !(o1 || o2 || o3 || o4) { repr = .rect(Box(x1: x1, y1: y1, x2: x2, y2: y2)); return }
        case .complex:
            if dx == 0 && dy == 0 { return }
        }
        modify { pixman_region32_translate($0, dx, dy) }
    }

    public mutating func clear() {
        repr = .empty(x: 0, y: 0)
    }

    public func union(_ other: Region) -> Region { var r = self; r.formUnion(other); return r }
    public func intersection(_ rect: Rect) -> Region { var r = self; r.formIntersection(rect); return r }
    public func translated(dx: Int32, dy: Int32) -> Region { var r = self; r.translate(dx: dx, dy: dy); return r }

    /// Maps every rectangle through `transform` (used for buffer → surface damage).
    public func mapRects(_ transform: (Rect) -> Rect) -> Region {
        switch repr {
        case .empty: return Region()
        case .rect(let box): return Region(transform(box.rect))
        case .complex:
            var out = Region()
            for r in rects { out.formUnion(transform(r)) }
            return out
        }
    }

    /// Read-only access to the pixman region, e.g. to clip a composite. An empty or one-rectangle
    /// region is lent as a temporary pixman region (its init functions do not allocate).
    public func withPixmanRegion<T>(_ body: (UnsafeMutablePointer<pixman_region32_t>) throws -> T) rethrows -> T {
        switch repr {
        case .complex(let storage):
            return try storage.withRegion(body)
        case .empty(let x, let y):
            var region = Region.pixmanEmpty(x: x, y: y)
            defer { pixman_region32_fini(&region) }
            return try body(&region)
        case .rect(let box):
            var region = Region.pixmanRect(box)
            defer { pixman_region32_fini(&region) }
            return try body(&region)
        }
    }

    /// Whether the region is held in a pixman region on the heap (tests: simple ones must not be).
    var usesStorage: Bool {
        if case .complex = repr { true } else { false }
    }

    public static func == (a: Region, b: Region) -> Bool {
        switch (a.repr, b.repr) {
        // pixman_region32_equal compares extents, so empty regions with different corners differ.
        case let (.empty(ax, ay), .empty(bx, by)): ax == bx && ay == by
        case let (.rect(ra), .rect(rb)): ra == rb
        case (.empty, .rect), (.rect, .empty): false
        default:
            a.withPixmanRegion { pa in b.withPixmanRegion { pb in pixman_region32_equal(pa, pb) != 0 } }
        }
    }

    public var description: String {
        isEmpty ? "∅" : rects.map(\.description).joined(separator: " ∪ ")
    }

    // MARK: Representation

    /// A pixman box: [x1, x2) × [y1, y2).
    private struct Box: Equatable, Sendable {
        var x1: Int32, y1: Int32, x2: Int32, y2: Int32
        init(x1: Int32, y1: Int32, x2: Int32, y2: Int32) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }
        init(_ b: pixman_box32_t) { self.init(x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2) }

        /// pixman's EXTENTCHECK: the boxes share a pixel.
        func overlaps(_ o: Box) -> Bool { x2 > o.x1 && x1 < o.x2 && y2 > o.y1 && y1 < o.y2 }
        /// pixman's SUBSUMES.
        func contains(_ o: Box) -> Bool { x1 <= o.x1 && x2 >= o.x2 && y1 <= o.y1 && y2 >= o.y2 }

        var rect: Rect {
            // A box may span more than Int32.max (a client's union of huge rectangles): clamp.
            Rect(x: x1, y: y1, width: Int32(clamping: Int64(x2) - Int64(x1)),
                 height: Int32(clamping: Int64(y2) - Int64(y1)))
        }
    }

    /// Each form stands for exactly one pixman region state, so results match pixman's own.
    /// Sendable because storage is copied before any write unless uniquely referenced.
    private enum Repr: @unchecked Sendable {
        /// pixman's empty region with extents (x, y, x, y): no rectangles.
        case empty(x: Int32, y: Int32)
        /// One rectangle (pixman's `data == NULL`), with x1 < x2 and y1 < y2.
        case rect(Box)
        /// Anything else, owned by a storage that is copied on write.
        case complex(Storage)
    }

    /// A pixman region in a single allocation (the object's header); pixman allocates its boxes.
    private final class Storage: ManagedBuffer<pixman_region32_t, UInt8> {
        /// Takes ownership of `region`, which is moved in, not copied.
        static func adopting(_ region: pixman_region32_t) -> Storage {
            unsafeDowncast(Storage.create(minimumCapacity: 0) { _ in region }, to: Storage.self)
        }

        func withRegion<T>(_ body: (UnsafeMutablePointer<pixman_region32_t>) throws -> T) rethrows -> T {
            try withUnsafeMutablePointerToHeader(body)
        }

        deinit { withUnsafeMutablePointerToHeader { pixman_region32_fini($0) } }
    }

    /// The extents as a pixman box.
    private var box: Box {
        switch repr {
        case .empty(let x, let y): Box(x1: x, y1: y, x2: x, y2: y)
        case .rect(let box): box
        case .complex(let storage): storage.withRegion { Box($0.pointee.extents) }
        }
    }

    private static func pixmanEmpty(x: Int32, y: Int32) -> pixman_region32_t {
        var region = pixman_region32_t()
        pixman_region32_init(&region)
        region.extents = pixman_box32_t(x1: x, y1: y, x2: x, y2: y)
        return region
    }

    private static func pixmanRect(_ b: Box) -> pixman_region32_t {
        var region = pixman_region32_t()
        pixman_region32_init_rect(&region, b.x1, b.y1, UInt32(bitPattern: b.x2 &- b.x1), UInt32(bitPattern: b.y2 &- b.y1))
        return region
    }

    /// The inline form of a pixman region, if it has one. Degenerate single boxes (pixman can leave
    /// them when translating to the coordinate limits) stay in storage.
    private static func simpleForm(_ region: UnsafeMutablePointer<pixman_region32_t>) -> Repr? {
        let e = Box(region.pointee.extents)
        guard let data = region.pointee.data else { return e.x1 < e.x2 && e.y1 < e.y2 ? .rect(e) : nil }
        switch data.pointee.numRects {
        case 0: return e.x1 == e.x2 && e.y1 == e.y2 ? .empty(x: e.x1, y: e.y1) : nil
        case 1:
            var count: Int32 = 0
            guard let only = pixman_region32_rectangles(region, &count) else { return nil }
            return Box(only[0]) == e && e.x1 < e.x2 && e.y1 < e.y2 ? .rect(e) : nil
        default: return nil
        }
    }

    /// Takes ownership of a pixman region: finalized if it has an inline form, else stored.
    private static func adopting(_ region: pixman_region32_t) -> Repr {
        var region = region
        if let simple = simpleForm(&region) {
            pixman_region32_fini(&region)
            return simple
        }
        return .complex(Storage.adopting(region))
    }

    /// The storage's region in its simplest form (the storage is released if that is inline).
    private static func simplified(_ storage: Storage) -> Repr {
        storage.withRegion { simpleForm($0) } ?? .complex(storage)
    }

    /// pixman's union of two boxes when it is one box: one contains the other, or they share a
    /// y-span and touch or overlap in x, or share an x-span and touch or overlap in y.
    private static func union(_ a: Box, _ b: Box) -> Box? {
        if a.contains(b) { return a }
        if b.contains(a) { return b }
        if a.y1 == b.y1 && a.y2 == b.y2 && a.x1 <= b.x2 && b.x1 <= a.x2 {
            return Box(x1: min(a.x1, b.x1), y1: a.y1, x2: max(a.x2, b.x2), y2: a.y2)
        }
        if a.x1 == b.x1 && a.x2 == b.x2 && a.y1 <= b.y2 && b.y1 <= a.y2 {
            return Box(x1: a.x1, y1: min(a.y1, b.y1), x2: a.x2, y2: max(a.y2, b.y2))
        }
        return nil
    }

    /// pixman's `a − b` for overlapping boxes when the result is empty or one box.
    private static func difference(_ a: Box, _ b: Box) -> Repr? {
        // Empty: pixman keeps the minuend's corner.
        if b.contains(a) { return .empty(x: a.x1, y: a.y1) }
        if b.y1 <= a.y1 && b.y2 >= a.y2 {
            if b.x1 <= a.x1 { return .rect(Box(x1: b.x2, y1: a.y1, x2: a.x2, y2: a.y2)) }
            if b.x2 >= a.x2 { return .rect(Box(x1: a.x1, y1: a.y1, x2: b.x1, y2: a.y2)) }
        } else if b.x1 <= a.x1 && b.x2 >= a.x2 {
            if b.y1 <= a.y1 { return .rect(Box(x1: a.x1, y1: b.y2, x2: a.x2, y2: a.y2)) }
            if b.y2 >= a.y2 { return .rect(Box(x1: a.x1, y1: a.y1, x2: a.x2, y2: b.y1)) }
        }
        return nil
    }

    /// `op(self)` in place through pixman, as a copy when the storage is shared, then simplified.
    private mutating func modify(_ op: (UnsafeMutablePointer<pixman_region32_t>) -> Void) {
        var region: pixman_region32_t
        switch repr {
        case .complex(var storage):
            repr = .empty(x: 0, y: 0) // drop this reference, so the check sees only other owners
            if isKnownUniquelyReferenced(&storage) {
                storage.withRegion(op)
                repr = Region.simplified(storage)
                return
            }
            region = pixman_region32_t()
            pixman_region32_init(&region)
            storage.withRegion { _ = pixman_region32_copy(&region, $0) }
        case .empty(let x, let y):
            region = Region.pixmanEmpty(x: x, y: y)
        case .rect(let box):
            region = Region.pixmanRect(box)
        }
        op(&region)
        repr = Region.adopting(region)
    }

    /// `op(self, self, other)` through pixman. Shared storage is not copied: pixman writes a new
    /// region instead, which starts empty at this region's corner, the only part of the
    /// destination pixman reads (it keeps it for an empty result), so the result is the same.
    private mutating func combine(
        _ other: Region,
        _ op: (UnsafeMutablePointer<pixman_region32_t>, UnsafeMutablePointer<pixman_region32_t>,
               UnsafeMutablePointer<pixman_region32_t>) -> pixman_bool_t
    ) {
        other.withPixmanRegion { operand in
            guard case .complex(var storage) = repr else {
                modify { _ = op($0, $0, operand) }
                return
            }
            repr = .empty(x: 0, y: 0) // drop this reference, so the check sees only other owners
            if isKnownUniquelyReferenced(&storage) {
                storage.withRegion { _ = op($0, $0, operand) }
                repr = Region.simplified(storage)
            } else {
                let corner = storage.withRegion { $0.pointee.extents }
                var result = Region.pixmanEmpty(x: corner.x1, y: corner.y1)
                storage.withRegion { _ = op(&result, $0, operand) }
                repr = Region.adopting(result)
            }
        }
    }

    // pixman boxes are x1,y1,x2,y2 in int32; reject empty rects, clamp far edges instead of overflowing.
    private static func clamped(_ r: Rect) -> Box? {
        guard !r.isEmpty else { return nil }
        let limit = Int64(Int32.max)
        let x2 = min(Int64(r.x) + Int64(r.width), limit)
        let y2 = min(Int64(r.y) + Int64(r.height), limit)
        guard x2 > Int64(r.x), y2 > Int64(r.y) else { return nil }
        return Box(x1: r.x, y1: r.y, x2: Int32(x2), y2: Int32(y2))
    }
}
