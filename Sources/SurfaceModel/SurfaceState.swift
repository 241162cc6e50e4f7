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
    /// wp_viewport: nil = unchanged; `.some(nil)` = unset by the client (all -1 / -1×-1).
    public var viewportSource: SourceRect?? = nil
    public var viewportDestination: Size?? = nil
    public var frameCallbacks: [any FrameCallbackObject] = []
    /// wp_presentation_feedback objects for the content of the next commit.
    public var presentationFeedbacks: [any PresentationFeedbackObject] = []

    public init() {}

    /// Whether nothing at all was requested since the last commit.
    public var isEmpty: Bool {
        if case .attached = attachment { return false }
        return dx == 0 && dy == 0 && surfaceDamage.isEmpty && bufferDamage.isEmpty && opaqueRegion == nil
            && inputRegion == nil && bufferScale == nil && bufferTransform == nil && viewportSource == nil
            && viewportDestination == nil && frameCallbacks.isEmpty && presentationFeedbacks.isEmpty
    }

    /// Adds a newer pending state on top of this one (a synchronized sub-surface's cache: "the
    /// pending state is added to the cached state"). Returns a buffer this state had attached
    /// that the newer one replaces: it was never shown and can be released at once.
    public mutating func merge(_ newer: SurfaceState) -> Buffer? {
        var replaced: Buffer? = nil
        if case let .attached(next) = newer.attachment {
            if case let .attached(old?) = attachment, old !== next { replaced = old }
            attachment = newer.attachment
        }
        dx += newer.dx
        dy += newer.dy
        surfaceDamage.formUnion(newer.surfaceDamage)
        bufferDamage.formUnion(newer.bufferDamage)
        if let o = newer.opaqueRegion { opaqueRegion = o }
        if let i = newer.inputRegion { inputRegion = i }
        if let s = newer.bufferScale { bufferScale = s }
        if let t = newer.bufferTransform { bufferTransform = t }
        if let v = newer.viewportSource { viewportSource = v }
        if let v = newer.viewportDestination { viewportDestination = v }
        frameCallbacks += newer.frameCallbacks
        presentationFeedbacks += newer.presentationFeedbacks
        return replaced
    }
}

/// A wp_viewport source rectangle in surface-local coordinates before scaling (fractional).
public struct SourceRect: Equatable, Sendable {
    public var x, y, width, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

/// A size in surface coordinates (wp_viewport destination).
public struct Size: Equatable, Sendable {
    public var width, height: Int32
    public init(width: Int32, height: Int32) { self.width = width; self.height = height }
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
    public var viewportSource: SourceRect? = nil
    public var viewportDestination: Size? = nil

    public init() {}

    /// The buffer's size transformed and divided by the scale: the surface size without a viewport,
    /// and the space a viewport's source rectangle lives in.
    public var bufferSurfaceWidth: Int32 {
        (bufferTransform.swapsAxes ? bufferHeight : bufferWidth) / max(bufferScale, 1)
    }
    public var bufferSurfaceHeight: Int32 {
        (bufferTransform.swapsAxes ? bufferWidth : bufferHeight) / max(bufferScale, 1)
    }

    /// The surface's size in surface coordinates: the viewport's destination, else its (integer)
    /// source size, else the buffer's. 0×0 without a buffer.
    public var width: Int32 {
        guard bufferWidth > 0 else { return 0 }
        if let d = viewportDestination { return d.width }
        if let s = viewportSource { return Int32(s.width) }
        return bufferSurfaceWidth
    }
    public var height: Int32 {
        guard bufferHeight > 0 else { return 0 }
        if let d = viewportDestination { return d.height }
        if let s = viewportSource { return Int32(s.height) }
        return bufferSurfaceHeight
    }

    /// Whether a viewport crops or scales the buffer.
    public var hasViewport: Bool { viewportSource != nil || viewportDestination != nil }
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
    public var frameCallbacks: [any FrameCallbackObject]
    /// The feedback objects of the content this commit made current.
    public var presentationFeedbacks: [any PresentationFeedbackObject] = []
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
        if let v = pending.viewportSource { viewportSource = v }
        if let v = pending.viewportDestination { viewportDestination = v }

        let geometryChanged = old.0 != width || old.1 != height || old.2 != (buffer != nil)
            || pending.bufferScale != nil || pending.bufferTransform != nil
            || pending.viewportSource != nil || pending.viewportDestination != nil
        var damage = pending.surfaceDamage
        if !pending.bufferDamage.isEmpty && hasViewport {
            // Buffer damage through a crop and a fractional scale: the whole surface, conservatively.
            damage.formUnion(Rect(x: 0, y: 0, width: width, height: height))
        } else if !pending.bufferDamage.isEmpty {
            let scale = Int64(max(bufferScale, 1))
            let (bw, bh) = (bufferWidth, bufferHeight)
            let t = bufferTransform.inverse
            // Only damage inside the buffer matters, and clipping first keeps the transform's
            // arithmetic in range (a client may damage up to INT32_MAX; found by protocol-fuzz).
            let inside = pending.bufferDamage.intersection(Rect(x: 0, y: 0, width: bw, height: bh))
            damage.formUnion(inside.mapRects { r in
                let s = t.apply(r, width: bw, height: bh)
                // Round outward when dividing by the scale, in 64 bits: the scale is any positive Int32.
                let x0 = Int64(s.x) / scale, y0 = Int64(s.y) / scale
                let x1 = (Int64(s.x) + Int64(s.width) + scale - 1) / scale
                let y1 = (Int64(s.y) + Int64(s.height) + scale - 1) / scale
                return Rect(x: Int32(x0), y: Int32(y0), width: Int32(x1 - x0), height: Int32(y1 - y0))
            })
        }
        if geometryChanged { damage.formUnion(Rect(x: 0, y: 0, width: width, height: height)) }
        damage.formIntersection(Rect(x: 0, y: 0, width: width, height: height))

        let result = CommitResult<Buffer>(
            damage: damage, replacedBuffer: replaced, geometryChanged: geometryChanged,
            dx: pending.dx, dy: pending.dy, frameCallbacks: pending.frameCallbacks,
            presentationFeedbacks: pending.presentationFeedbacks)
        pending = SurfaceState()
        return result
    }
}

/// A `wl_callback` from `wl_surface.frame`, as the surface state carries it (the object is the
/// protocol layer's): told `done` after the frame that shows its commit, or cancelled (destroyed
/// without `done`) when that frame never comes.
public protocol FrameCallbackObject: AnyObject {
    func done(timeMs: UInt32)
    func cancel()
}

/// A `wp_presentation_feedback`, as the surface state carries it: `presented` with the frame
/// that showed its content, or `discarded` when none will.
public protocol PresentationFeedbackObject: AnyObject {
    /// `outputs`: the (wl_client, wl_output resource) pairs bound now, opaque here.
    func presented(_ frame: PresentedFrame, outputs: [(client: OpaquePointer, resource: OpaquePointer)])
    func discard()
}
