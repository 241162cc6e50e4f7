import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// `wp_viewport`: crops (source rectangle) and scales (destination size) a surface's buffer.
/// Both are double-buffered surface state; the renderer samples with a bilinear filter.
package final class Viewport: ResourceHandler {
    private unowned let context: ProtocolContext
    /// nil once destroyed (the surface may hold this until it hears of it: nothing is sent then).
    private var resource: OpaquePointer?
    /// Strong (no side table on the surface, which commits often); nil once the wl_surface is
    /// destroyed (`surfaceDestroyed`), after which requests are no_surface.
    private var wlSurface: WlSurface?
    private var surface: Surface? { wlSurface?.surface }

    package init(context: ProtocolContext, resource: OpaquePointer, surface: WlSurface) {
        self.context = context
        self.resource = resource
        wlSurface = surface
    }

    package func handle(_ request: Request) {
        let decoded = WpViewportRequest(request)
        if case .destroy? = decoded { return wl_resource_destroy(request.resource) }
        guard let surface, !surface.isDestroyed else {
            return context.post(WpViewportError.noSurface, on: request.resource,
                                    "the wl_surface of this wp_viewport was destroyed")
        }
        switch decoded {
        case let .setSource(x, y, w, h)?:
            if x == -1 && y == -1 && w == -1 && h == -1 {
                surface.pending.viewportSource = .some(nil)
            } else if x >= 0 && y >= 0 && w > 0 && h > 0 {
                surface.pending.viewportSource = SourceRect(x: x, y: y, width: w, height: h)
            } else {
                context.post(WpViewportError.badValue, on: request.resource,
                                 "source rectangle \(w)x\(h)+\(x)+\(y): x and y must be >= 0 and the size positive (or all -1 to unset)")
            }
        case let .setDestination(w, h)?:
            if w == -1 && h == -1 {
                surface.pending.viewportDestination = .some(nil)
            } else if w > 0 && h > 0 {
                surface.pending.viewportDestination = Size(width: w, height: h)
            } else {
                context.post(WpViewportError.badValue, on: request.resource,
                                 "destination size \(w)x\(h) must be positive (or -1x-1 to unset)")
            }
        case .destroy?, nil: break
        }
    }

    /// Checks the state a commit is about to apply: bad_size (integer source size needed without
    /// a destination) and out_of_buffer (the source must lie inside the buffer).
    package func validateCommit(_ surface: Surface) -> Bool {
        guard let resource else { return true }  // no viewport any more
        var next = surface.current
        var pending = surface.cached ?? SurfaceState()
        // Commits held for their dma-bufs' fences apply before this one (HeldCommits.swift).
        for held in surface.heldCommits { _ = pending.merge(held.state) }
        _ = pending.merge(surface.pending)  // a look ahead only: nothing is released here
        _ = next.apply(&pending) { ($0.width, $0.height) }
        guard let source = next.viewportSource, next.buffer != nil else { return true }
        if next.viewportDestination == nil && (source.width.rounded() != source.width || source.height.rounded() != source.height) {
            context.post(WpViewportError.badSize, on: resource,
                             "source size \(source.width)x\(source.height) is not integer and no destination size is set")
            return false
        }
        let (bw, bh) = (Double(next.bufferSurfaceWidth), Double(next.bufferSurfaceHeight))
        if source.x + source.width > bw || source.y + source.height > bh {
            context.post(WpViewportError.outOfBuffer, on: resource,
                             "source rectangle \(source.width)x\(source.height)+\(source.x)+\(source.y) lies outside the \(Int(bw))x\(Int(bh)) buffer (in surface coordinates)")
            return false
        }
        return true
    }

    /// The wl_surface was destroyed (WlSurface.resourceDestroyed).
    package func surfaceDestroyed() { wlSurface = nil }

    package func resourceDestroyed() {
        resource = nil
        // Destroying the viewport removes its effect at the next commit.
        guard let wlSurface else { return }
        self.wlSurface = nil
        guard !wlSurface.surface.isDestroyed else { return }
        wlSurface.surface.pending.viewportSource = .some(nil)
        wlSurface.surface.pending.viewportDestination = .some(nil)
        if wlSurface.viewport === self { wlSurface.viewport = nil }
    }
}
