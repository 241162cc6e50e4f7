import Buffers
import SurfaceModel

/// A root surface placed on the output: a mapped toplevel or popup. Its sub-surfaces hang off it.
package final class View {
    package let surface: Surface
    /// Output position of the surface's origin (not of its window geometry).
    package var x: Int32, y: Int32

    package init(surface: Surface, x: Int32, y: Int32) {
        self.surface = surface
        self.x = x
        self.y = y
    }

    package var frame: Rect { Rect(x: x, y: y, width: surface.width, height: surface.height) }
}

/// What is on the outputs, in stacking order, and which parts of it changed since the last frame.
///
/// Positions are in one global layout in which every output has its rectangle (`outputs`), as
/// wlroots' `wlr_output_layout`: a window on the boundary shows on both.
///
/// Views (root surfaces) are stacked bottom to top; each root's sub-surface tree is stacked by
/// the surfaces' `currentStack`. A surface is mapped when it has a buffer and is either a root
/// with a view or a sub-surface of a mapped parent (wl_subsurface spec).
package final class Scene {
    /// The layout's extent from (0, 0): every output lies inside.
    package let width: Int32, height: Int32
    /// Each output's rectangle in the layout, in the outputs' order.
    package let outputs: [Rect]
    /// Bottom to top.
    package private(set) var views: [View] = []
    /// Output-space damage since the last composited frame.
    package private(set) var damage = Region()
    /// Called whenever something needs a new frame (damage or frame callbacks).
    package var onNeedsFrame: () -> Void = {}
    /// Called when a surface appears on the output (true) or leaves it (false).
    package var onMapChanged: (Surface, Bool) -> Void = { _, _ in }
    /// Called when a surface starts (`entered`) or stops (`left`) overlapping outputs, as masks
    /// of output indices (wl_surface.enter and leave).
    package var onOutputsChanged: (_ surface: Surface, _ entered: UInt64, _ left: UInt64) -> Void = { _, _, _ in }
    /// Called after anything moved, appeared or disappeared (the seat re-picks pointer focus).
    package var onLayoutChanged: () -> Void = {}

    /// One output covering `width`×`height`.
    package convenience init(width: Int32, height: Int32) {
        self.init(outputs: [Rect(x: 0, y: 0, width: width, height: height)])
    }

    /// Outputs at these rectangles of the layout (none at negative coordinates; at most 64).
    package init(outputs: [Rect]) {
        self.outputs = outputs
        width = outputs.map { $0.x + $0.width }.max() ?? 0
        height = outputs.map { $0.y + $0.height }.max() ?? 0
    }

    /// The index of the output containing the layout point, if any.
    package func outputIndex(atX x: Double, y: Double) -> Int? {
        outputs.firstIndex { Double($0.x) <= x && x < Double($0.x + $0.width) && Double($0.y) <= y && y < Double($0.y + $0.height) }
    }

    /// The point on an output nearest (x, y) (as wlr_output_layout_closest_point): the pointer
    /// never leaves the outputs, nor strays into a gap between them.
    package func closestPointOnOutputs(x: Double, y: Double) -> (x: Double, y: Double) {
        var best: (x: Double, y: Double, distance: Double)?
        for o in outputs {
            let cx = min(max(x, Double(o.x)), Double(o.x + o.width) - 1 / 256)
            let cy = min(max(y, Double(o.y)), Double(o.y + o.height) - 1 / 256)
            let d = (cx - x) * (cx - x) + (cy - y) * (cy - y)
            if d < best?.distance ?? .infinity { best = (cx, cy, d) }
        }
        return best.map { ($0.x, $0.y) } ?? (0, 0)
    }

    /// The index of the output `rect` overlaps most (nil when it overlaps none).
    package func outputIndex(mostlyCovering rect: Rect) -> Int? {
        var best: (index: Int, area: Int64)?
        for (i, o) in outputs.enumerated() {
            let r = Region(rect).intersection(o).extents
            let area = r.isEmpty ? 0 : Int64(r.width) * Int64(r.height)
            if area > 0, area > (best?.area ?? 0) { best = (i, area) }
        }
        return best?.index
    }

    /// A view and its surface hold each other strongly (no weak reference: no side table on the
    /// surface); `unmap` cuts that, and so does the scene going away with views still in it.
    deinit {
        for view in views where view.surface.view === view { view.surface.view = nil }
    }

    package var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    @discardableResult
    package func map(_ surface: Surface, x: Int32, y: Int32) -> View {
        if let view = surface.view { return view }
        let view = View(surface: surface, x: x, y: y)
        update(surface) {
            surface.view = view
            views.append(view)
        }
        return view
    }

    package func unmap(_ surface: Surface) {
        guard let view = surface.view else { return }
        update(surface) {
            views.removeAll { $0 === view }
            surface.view = nil
        }
    }

    package func move(_ view: View, x: Int32, y: Int32) {
        guard view.x != x || view.y != y else { return }
        update(view.surface) {
            view.x = x
            view.y = y
        }
    }

    package func raise(_ view: View) {
        guard views.last !== view, let i = views.firstIndex(where: { $0 === view }) else { return }
        update(view.surface) {
            views.remove(at: i)
            views.append(view)
        }
    }

    /// Runs a change to `surface`'s tree (position, stacking, mapping, size), then damages where
    /// the tree was and where it is, and updates which surfaces are mapped.
    package func update(_ surface: Surface, _ change: () -> Void) {
        _ = updateIfNeeded(surface) { change(); return true }
    }

    /// `update` for a change that reports whether it was structural (size, position, stacking,
    /// mapping); when it was not, nothing is damaged here and false is returned.
    package func updateIfNeeded(_ surface: Surface, _ change: () -> Bool) -> Bool {
        let root = surface.root
        let before = treeBounds(root)
        guard change() else { return false }
        refreshMapping(root)
        // The change may have detached `surface` from `root` (a sub-surface destroyed).
        if surface.root !== root { refreshMapping(surface.root) }
        addDamage(before)
        addDamage(treeBounds(root))
        onLayoutChanged()
        return true
    }

    /// Damage in `surface`'s coordinates, where it is now (a commit that changed only pixels).
    package func addSurfaceDamage(_ surface: Surface, _ local: Region) {
        guard let origin = surface.outputOrigin, !local.isEmpty else { return }
        addDamage(local.translated(dx: origin.x, dy: origin.y))
    }

    /// Recomputes `isMapped` for `surface`'s subtree, sending enter/leave on changes.
    package func refreshMapping(_ surface: Surface) {
        let parentMapped = surface.subsurface?.parent?.isMapped ?? (surface.view != nil)
        setMapped(surface, parentMapped)
        refreshOutputs(surface, surface.outputOrigin)
    }

    /// Recomputes which outputs `surface`'s subtree overlaps (none where unmapped), telling
    /// `onOutputsChanged` what changed.
    private func refreshOutputs(_ surface: Surface, _ origin: (x: Int32, y: Int32)?) {
        var mask: UInt64 = 0
        if surface.isMapped, let origin {
            let frame = Rect(x: origin.x, y: origin.y, width: surface.width, height: surface.height)
            for (i, o) in outputs.enumerated() where i < 64 && !Region(frame).intersection(o).isEmpty { mask |= 1 << UInt64(i) }
        }
        let old = surface.outputMask
        if mask != old {
            surface.outputMask = mask
            onOutputsChanged(surface, mask & ~old, old & ~mask)
        }
        for child in surface.currentChildren {
            if let c = child.surface { refreshOutputs(c, origin.map { ($0.x + child.x, $0.y + child.y) }) }
        }
    }

    private func setMapped(_ surface: Surface, _ parentMapped: Bool) {
        let mapped = parentMapped && surface.hasBuffer
        if mapped != surface.isMapped {
            surface.isMapped = mapped
            onMapChanged(surface, mapped)
        }
        for child in surface.currentChildren {
            if let c = child.surface { setMapped(c, mapped) }
        }
    }

    /// The output-space extents of every mapped surface in `root`'s tree.
    package func treeBounds(_ root: Surface) -> Region {
        var r = Region()
        guard let origin = root.outputOrigin else { return r }
        Self.walk(root, origin.x, origin.y) { s, x, y in r.formUnion(Rect(x: x, y: y, width: s.width, height: s.height)) }
        return r
    }

    /// Every mapped surface, bottom to top, with its output-space origin.
    package func forEachSurface(_ body: (Surface, Int32, Int32) -> Void) {
        for view in views { Self.walk(view.surface, view.x, view.y, body) }
    }

    /// Every mapped surface of `root`'s tree, bottom to top, with its origin relative to
    /// `root`'s (a window captured on its own).
    package static func forEachSurface(inTreeOf root: Surface, _ body: (Surface, Int32, Int32) -> Void) {
        walk(root, 0, 0, body)
    }

    private static func walk(_ surface: Surface, _ x: Int32, _ y: Int32, _ body: (Surface, Int32, Int32) -> Void) {
        guard surface.isMapped else { return }
        for item in surface.currentStack {
            switch item {
            case .this: body(surface, x, y)
            case let .child(sub): if let c = sub.surface { walk(c, x + sub.x, y + sub.y, body) }
            }
        }
    }

    /// The topmost mapped surface whose input region contains the output point, and the point
    /// in that surface's coordinates.
    package func surfaceAt(x: Double, y: Double) -> (surface: Surface, sx: Double, sy: Double)? {
        var hit: (Surface, Double, Double)?
        forEachSurface { s, ox, oy in
            let sx = x - Double(ox), sy = y - Double(oy)
            let px = Int32(sx.rounded(.down)), py = Int32(sy.rounded(.down))
            guard px >= 0, py >= 0, px < s.width, py < s.height, s.current.inputRegion.contains(x: px, y: py) else { return }
            hit = (s, sx, sy)  // later surfaces are above: the last hit wins
        }
        return hit.map { (surface: $0.0, sx: $0.1, sy: $0.2) }
    }

    package func addDamage(_ rect: Rect) { addDamage(Region(rect)) }

    package func addDamage(_ region: Region) {
        let clipped = region.intersection(bounds)
        guard !clipped.isEmpty else { return }
        damage.formUnion(clipped)
        onNeedsFrame()
    }

    /// Takes the accumulated damage for the frame being composited.
    package func takeDamage() -> Region {
        defer { damage = Region() }
        return damage
    }

    /// The number of views, for deterministic placement of the next toplevel.
    package var viewCount: Int { views.count }
}
