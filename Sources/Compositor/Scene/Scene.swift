/// A surface placed on the output: a mapped toplevel or popup.
final class View {
    let surface: Surface
    /// Output position of the surface's origin (not of its window geometry).
    var x: Int32, y: Int32

    init(surface: Surface, x: Int32, y: Int32) {
        self.surface = surface
        self.x = x
        self.y = y
    }

    var frame: Rect { Rect(x: x, y: y, width: surface.width, height: surface.height) }
}

/// What is on the output, in stacking order, and which parts of it changed since the last frame.
final class Scene {
    let width: Int32, height: Int32
    /// Bottom to top.
    private(set) var views: [View] = []
    /// Output-space damage since the last composited frame.
    private(set) var damage = Region()
    /// Called whenever something needs a new frame (damage or frame callbacks).
    var onNeedsFrame: () -> Void = {}
    /// Called when a surface appears on the output (true) or leaves it (false).
    var onMapChanged: (Surface, Bool) -> Void = { _, _ in }

    init(width: Int32, height: Int32) {
        self.width = width
        self.height = height
    }

    var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    @discardableResult
    func map(_ surface: Surface, x: Int32, y: Int32) -> View {
        if let view = surface.view { return view }
        let view = View(surface: surface, x: x, y: y)
        surface.view = view
        views.append(view)
        addDamage(view.frame)
        onMapChanged(surface, true)
        return view
    }

    func unmap(_ surface: Surface) {
        guard let view = surface.view else { return }
        addDamage(view.frame)
        views.removeAll { $0 === view }
        surface.view = nil
        onMapChanged(surface, false)
    }

    func move(_ view: View, x: Int32, y: Int32) {
        guard view.x != x || view.y != y else { return }
        addDamage(view.frame)
        view.x = x
        view.y = y
        addDamage(view.frame)
    }

    func raise(_ view: View) {
        guard views.last !== view, let i = views.firstIndex(where: { $0 === view }) else { return }
        views.remove(at: i)
        views.append(view)
        addDamage(view.frame)
    }

    /// Surface-local damage from a commit, and the old extents when the size changed.
    func surfaceCommitted(_ surface: Surface, damage local: Region, oldFrame: Rect?) {
        guard let view = surface.view else { return }
        if let oldFrame { addDamage(oldFrame) }
        addDamage(local.translated(dx: view.x, dy: view.y))
    }

    func addDamage(_ rect: Rect) { addDamage(Region(rect)) }

    func addDamage(_ region: Region) {
        let clipped = region.intersection(bounds)
        guard !clipped.isEmpty else { return }
        damage.formUnion(clipped)
        onNeedsFrame()
    }

    /// Takes the accumulated damage for the frame being composited.
    func takeDamage() -> Region {
        defer { damage = Region() }
        return damage
    }

    /// The number of views, for deterministic placement of the next toplevel.
    var viewCount: Int { views.count }
}
