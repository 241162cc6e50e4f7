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
public struct Region: Equatable, Sendable, CustomStringConvertible {
    private var storage: Storage

    /// Empty regions share one immutable storage (every surface state and commit makes several):
    /// the first mutation copies it, as for any shared storage.
    public init() { storage = Storage.empty }

    public init(_ rect: Rect) {
        self.init()
        formUnion(rect)
    }

    /// An unbounded region: the default input region of a surface ("infinite" in the spec).
    public static var infinite: Region {
        Region(Rect(x: Int32.min / 2, y: Int32.min / 2, width: Int32.max, height: Int32.max))
    }

    public var isEmpty: Bool { pixman_region32_not_empty(storage.pointer) == 0 }

    /// The bounding box of the region.
    public var extents: Rect {
        let box = storage.pointer.pointee.extents
        return Rect(x: box.x1, y: box.y1, width: box.x2 &- box.x1, height: box.y2 &- box.y1)
    }

    /// The region's rectangles, y-x banded as pixman keeps them.
    public var rects: [Rect] {
        var count: Int32 = 0
        guard let boxes = pixman_region32_rectangles(storage.pointer, &count) else { return [] }
        return (0..<Int(count)).map { i in
            let b = boxes[i]
            // A box may span more than Int32.max (a client's union of huge rectangles): clamp.
            return Rect(x: b.x1, y: b.y1, width: Int32(clamping: Int64(b.x2) - Int64(b.x1)),
                        height: Int32(clamping: Int64(b.y2) - Int64(b.y1)))
        }
    }

    /// Total pixel count (for tests and statistics).
    public var area: Int64 { rects.reduce(0) { $0 + Int64($1.width) * Int64($1.height) } }

    public func contains(x: Int32, y: Int32) -> Bool {
        pixman_region32_contains_point(storage.pointer, x, y, nil) != 0
    }

    public mutating func formUnion(_ rect: Rect) {
        guard let box = Region.clamped(rect) else { return }
        mutate { pixman_region32_union_rect($0, $0, box.x, box.y, box.w, box.h) }
    }

    public mutating func formUnion(_ other: Region) {
        let o = other.storage
        mutate { pixman_region32_union($0, $0, o.pointer) }
    }

    public mutating func subtract(_ rect: Rect) {
        subtract(Region(rect))
    }

    public mutating func subtract(_ other: Region) {
        let o = other.storage
        mutate { pixman_region32_subtract($0, $0, o.pointer) }
    }

    public mutating func formIntersection(_ rect: Rect) {
        guard let box = Region.clamped(rect) else { clear(); return }
        mutate { pixman_region32_intersect_rect($0, $0, box.x, box.y, box.w, box.h) }
    }

    public mutating func formIntersection(_ other: Region) {
        let o = other.storage
        mutate { pixman_region32_intersect($0, $0, o.pointer) }
    }

    public mutating func translate(dx: Int32, dy: Int32) {
        mutate { pixman_region32_translate($0, dx, dy) }
    }

    public mutating func clear() {
        mutate { pixman_region32_clear($0) }
    }

    public func union(_ other: Region) -> Region { var r = self; r.formUnion(other); return r }
    public func intersection(_ rect: Rect) -> Region { var r = self; r.formIntersection(rect); return r }
    public func translated(dx: Int32, dy: Int32) -> Region { var r = self; r.translate(dx: dx, dy: dy); return r }

    /// Maps every rectangle through `transform` (used for buffer → surface damage).
    public func mapRects(_ transform: (Rect) -> Rect) -> Region {
        var out = Region()
        for r in rects { out.formUnion(transform(r)) }
        return out
    }

    /// Read-only access to the pixman region, e.g. to clip a composite.
    func withPixmanRegion<T>(_ body: (UnsafeMutablePointer<pixman_region32_t>) -> T) -> T {
        body(storage.pointer)
    }

    public static func == (a: Region, b: Region) -> Bool {
        pixman_region32_equal(a.storage.pointer, b.storage.pointer) != 0
    }

    public var description: String {
        isEmpty ? "∅" : rects.map(\.description).joined(separator: " ∪ ")
    }

    // pixman boxes are x1,y1,x2,y2 in int32; reject empty rects, clamp far edges instead of overflowing.
    private static func clamped(_ r: Rect) -> (x: Int32, y: Int32, w: UInt32, h: UInt32)? {
        guard !r.isEmpty else { return nil }
        let limit = Int64(Int32.max)
        let x2 = min(Int64(r.x) + Int64(r.width), limit)
        let y2 = min(Int64(r.y) + Int64(r.height), limit)
        guard x2 > Int64(r.x), y2 > Int64(r.y) else { return nil }
        return (r.x, r.y, UInt32(x2 - Int64(r.x)), UInt32(y2 - Int64(r.y)))
    }

    private mutating func mutate(_ body: (UnsafeMutablePointer<pixman_region32_t>) -> Void) {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        body(storage.pointer)
    }

    private final class Storage: @unchecked Sendable {
        /// Never mutated: `mutate` copies storage that is not uniquely referenced, and this one
        /// always is referenced here too.
        static let empty = Storage()
        let pointer: UnsafeMutablePointer<pixman_region32_t>
        init() {
            pointer = .allocate(capacity: 1)
            pixman_region32_init(pointer)
        }
        func copy() -> Storage {
            let s = Storage()
            pixman_region32_copy(s.pointer, pointer)
            return s
        }
        deinit {
            pixman_region32_fini(pointer)
            pointer.deallocate()
        }
    }
}
