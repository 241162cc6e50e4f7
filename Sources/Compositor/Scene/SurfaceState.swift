/// The double-buffered state of a `wl_surface` (wl_surface spec: "pending" and "current").
///
/// Requests change only the pending copy; `wl_surface.commit` applies what was set, atomically.
/// Damage accumulates until the commit; frame callbacks move to the current list. `Buffer` is the
/// attached wl_buffer's handler type (generic so the rules can be tested on their own).
public struct SurfaceState<Buffer: AnyObject> {
    /// What `attach` did since the last commit: nothing, or attached a buffer (nil = detach).
    public enum Attachment {
        case unchanged
        case attached(Buffer?)
    }

    public var attachment: Attachment = .unchanged
    /// The attach offset (`attach` x/y before v5, `offset` since), relative to the previous origin.
    public var dx: Int32 = 0, dy: Int32 = 0
    public var surfaceDamage = Region()
    public var bufferDamage = Region()
    public var opaqueRegion: Region? = nil
    public var inputRegion: Region? = nil
    public var bufferScale: Int32? = nil
    public var bufferTransform: BufferTransform? = nil
    public var frameCallbacks: [AnyObject] = []

    public init() {}
}

/// The state a surface displays (what the last commit made current).
public struct CommittedSurfaceState<Buffer: AnyObject> {
    public var buffer: Buffer? = nil
    /// The buffer's size in buffer pixels (0×0 without a buffer).
    public var bufferWidth: Int32 = 0, bufferHeight: Int32 = 0
    public var bufferScale: Int32 = 1
    public var bufferTransform: BufferTransform = .normal
    /// Empty opaque region by default; infinite input region by default.
    public var opaqueRegion = Region()
    public var inputRegion = Region.infinite

    public init() {}

    /// The surface's size in surface coordinates: the buffer's, transformed, divided by the scale.
    public var width: Int32 {
        (bufferTransform.swapsAxes ? bufferHeight : bufferWidth) / max(bufferScale, 1)
    }
    public var height: Int32 {
        (bufferTransform.swapsAxes ? bufferWidth : bufferHeight) / max(bufferScale, 1)
    }
}

/// What one commit changed, for the surface and the scene to act on.
public struct CommitResult<Buffer: AnyObject> {
    /// Damage in surface coordinates (surface damage ∪ converted buffer damage, plus the whole
    /// surface when the buffer or its geometry changed), clipped to the surface.
    public var damage: Region
    /// The buffer the commit replaced, to be released (nil when unchanged or the same buffer).
    public var replacedBuffer: Buffer?
    /// Whether the surface's size, scale, transform or buffer presence changed.
    public var geometryChanged: Bool
    public var dx: Int32, dy: Int32
    public var frameCallbacks: [AnyObject]
}

extension CommittedSurfaceState {
    /// Applies `pending` (and clears it), the heart of `wl_surface.commit`.
    /// `bufferSize` tells the size of a newly attached buffer.
    public mutating func apply(
        _ pending: inout SurfaceState<Buffer>, bufferSize: (Buffer) -> (Int32, Int32)
    ) -> CommitResult<Buffer> {
        let old = (width, height, buffer != nil)
        var replaced: Buffer? = nil
        if case let .attached(next) = pending.attachment {
            if next !== buffer { replaced = buffer }
            buffer = next
            (bufferWidth, bufferHeight) = next.map(bufferSize) ?? (0, 0)
        }
        if let s = pending.bufferScale { bufferScale = s }
        if let t = pending.bufferTransform { bufferTransform = t }
        if let o = pending.opaqueRegion { opaqueRegion = o }
        if let i = pending.inputRegion { inputRegion = i }

        let geometryChanged = old.0 != width || old.1 != height || old.2 != (buffer != nil)
            || pending.bufferScale != nil || pending.bufferTransform != nil
        var damage = pending.surfaceDamage
        if !pending.bufferDamage.isEmpty {
            let scale = max(bufferScale, 1)
            let (bw, bh) = (bufferWidth, bufferHeight)
            let t = bufferTransform.inverse
            damage.formUnion(pending.bufferDamage.mapRects { r in
                let s = t.apply(r, width: bw, height: bh)
                // Round outward when dividing by the scale.
                let x0 = s.x / scale, y0 = s.y / scale
                let x1 = (s.x + s.width + scale - 1) / scale, y1 = (s.y + s.height + scale - 1) / scale
                return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
            })
        }
        if geometryChanged { damage.formUnion(Rect(x: 0, y: 0, width: width, height: height)) }
        damage.formIntersection(Rect(x: 0, y: 0, width: width, height: height))

        let result = CommitResult<Buffer>(
            damage: damage, replacedBuffer: replaced, geometryChanged: geometryChanged,
            dx: pending.dx, dy: pending.dy, frameCallbacks: pending.frameCallbacks)
        pending = SurfaceState()
        return result
    }
}
