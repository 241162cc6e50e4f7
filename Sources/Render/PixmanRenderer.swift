import Buffers
import SurfaceModel
import CPixman
import SceneGraph

/// Composites the scene into a framebuffer with pixman, touching only the damaged region.
///
/// Client pixels are read straight from their pool mappings (no per-commit copy). Nothing is
/// drawn that is hidden: surfaces are walked top-down first to find, for each, the damage it
/// must paint (minus what opaque surfaces above cover), and the background is filled only where
/// no opaque surface lies. Then they are painted bottom to top, each clipped to its own part:
/// SRC for opaque formats and opaque regions (no blending), OVER elsewhere for formats with alpha.
package final class PixmanRenderer {
    /// Output background, 0xAARRGGBB.
    package let background: UInt32

    package init(background: UInt32) { self.background = background }

    /// The list `render` builds each frame, kept empty with its capacity between frames.
    private var spare: [Paint] = []

    /// One surface to paint: where it is, and the part of the damage only it can show.
    private struct Paint {
        package let surface: Surface
        package let frame: Rect
        package var visible: Region
        package var opaque: Region
    }

    /// Returns the buffers whose read faulted (SIGBUS caught by the guard).
    @discardableResult
    package func render(_ scene: Scene, into target: OpaquePointer, damage: Region) -> [Buffer] {
        render(surfaces: scene.forEachSurface, into: target, damage: damage)
    }

    /// Renders the surfaces `surfaces` walks (bottom to top, with their origins in `target`):
    /// the whole scene, or one window's tree (a toplevel captured on its own).
    @discardableResult
    package func render(surfaces: ((Surface, Int32, Int32) -> Void) -> Void, into target: OpaquePointer, damage: Region) -> [Buffer] {
        guard !damage.isEmpty else { return [] }
        defer { pixman_image_set_clip_region32(target, nil) }

        // Kept between frames (capacity and all) so a frame allocates no list; emptied on return
        // so no surface stays referenced.
        var paints = spare
        spare = []
        defer { paints.removeAll(keepingCapacity: true); spare = paints }
        surfaces { surface, x, y in
            let frame = Rect(x: x, y: y, width: surface.width, height: surface.height)
            guard surface.current.buffer != nil, !frame.isEmpty else { return }
            paints.append(Paint(surface: surface, frame: frame, visible: Region(), opaque: Region()))
        }
        // Top-down: each surface paints the damage no opaque surface above it covers.
        var covered = Region()
        for i in paints.indices.reversed() {
            let frame = paints[i].frame
            var visible = damage.intersection(frame)
            if !covered.isEmpty && !visible.isEmpty { visible.subtract(covered) }
            paints[i].visible = visible
            let opaque = opaqueArea(paints[i].surface, frame)
            paints[i].opaque = opaque
            covered.formUnion(opaque)
        }
        // The background shows only where nothing opaque lies.
        var background = damage
        if !covered.isEmpty { background.subtract(covered) }
        if !background.isEmpty {
            var color = PixmanRenderer.pixmanColor(self.background)
            let boxes = background.rects.map { pixman_box32_t(x1: $0.x, y1: $0.y, x2: $0.x + $0.width, y2: $0.y + $0.height) }
            boxes.withUnsafeBufferPointer { _ = pixman_image_fill_boxes(PIXMAN_OP_SRC, target, &color, Int32($0.count), $0.baseAddress) }
        }

        var faulted: [Buffer] = []
        for paint in paints where !paint.visible.isEmpty {
            guard let buffer = paint.surface.current.buffer else { continue }
            let hasAlpha = buffer.contents.hasAlpha
            let outcome = buffer.contents.withImage { image in
                if !hasAlpha {
                    clip(target, paint.visible)
                    draw(paint.surface.current, paint.frame, image, op: PIXMAN_OP_SRC, into: target)
                    return
                }
                // Alpha formats: the declared opaque region needs no blending ("the compositor
                // may ignore the alpha there"); the rest is blended over what lies below.
                var blended = paint.visible
                if !paint.opaque.isEmpty {
                    var solid = paint.visible
                    solid.formIntersection(paint.opaque)
                    if !solid.isEmpty {
                        clip(target, solid)
                        draw(paint.surface.current, paint.frame, image, op: PIXMAN_OP_SRC, into: target)
                        blended.subtract(paint.opaque)
                    }
                }
                if !blended.isEmpty {
                    clip(target, blended)
                    draw(paint.surface.current, paint.frame, image, op: PIXMAN_OP_OVER, into: target)
                }
            }
            if outcome == .faulted { faulted.append(buffer) }
        }
        return faulted
    }

    /// The output-space area `surface` covers with opaque pixels: all of it for formats without
    /// alpha, else its opaque region (wl_surface.set_opaque_region) within its extents.
    private func opaqueArea(_ surface: Surface, _ frame: Rect) -> Region {
        guard let buffer = surface.current.buffer else { return Region() }
        if !buffer.contents.hasAlpha { return Region(frame) }
        let opaque = surface.current.opaqueRegion
        guard !opaque.isEmpty else { return Region() }
        return opaque.translated(dx: frame.x, dy: frame.y).intersection(frame)
    }

    private func clip(_ target: OpaquePointer, _ region: Region) {
        region.withPixmanRegion { _ = pixman_image_set_clip_region32(target, $0) }
    }

    private func draw(_ state: CommittedSurfaceState<Buffer>, _ frame: Rect, _ image: OpaquePointer, op: pixman_op_t, into target: OpaquePointer) {
        let transformed = state.bufferScale != 1 || state.bufferTransform != .normal || state.hasViewport
        if transformed {
            var matrix = PixmanRenderer.matrix(for: state, surfaceWidth: frame.width, surfaceHeight: frame.height)
            pixman_image_set_transform(image, &matrix)
            if PixmanRenderer.isPixelExact(state, surfaceWidth: frame.width, surfaceHeight: frame.height) {
                pixman_image_set_filter(image, PIXMAN_FILTER_NEAREST, nil, 0)
            } else {
                // A viewport's fractional scale: filter, and pad so edges don't fade to transparent.
                pixman_image_set_filter(image, PIXMAN_FILTER_BILINEAR, nil, 0)
                pixman_image_set_repeat(image, PIXMAN_REPEAT_PAD)
            }
        }
        pixman_image_composite32(op, image, nil, target, 0, 0, 0, 0, frame.x, frame.y, frame.width, frame.height)
        if transformed {
            pixman_image_set_transform(image, nil)
            pixman_image_set_repeat(image, PIXMAN_REPEAT_NONE)
        }
    }

    /// The viewport maps surface pixels 1:1 onto whole buffer-surface pixels (a crop, no scale).
    package static func isPixelExact(_ state: CommittedSurfaceState<Buffer>, surfaceWidth: Int32, surfaceHeight: Int32) -> Bool {
        guard let src = state.viewportSource else { return state.viewportDestination == nil }
        return src.width == Double(surfaceWidth) && src.height == Double(surfaceHeight)
            && src.x.rounded() == src.x && src.y.rounded() == src.y
    }

    /// Surface coordinates → buffer coordinates: the viewport (destination → source rectangle),
    /// then multiply by the scale, then the buffer transform.
    package static func matrix(for state: CommittedSurfaceState<Buffer>, surfaceWidth: Int32, surfaceHeight: Int32) -> pixman_transform_t {
        let s = Double(max(state.bufferScale, 1))
        let bsw = Double(state.bufferSurfaceWidth), bsh = Double(state.bufferSurfaceHeight)
        let src = state.viewportSource ?? SourceRect(x: 0, y: 0, width: bsw, height: bsh)
        let kx = src.width / Double(max(surfaceWidth, 1)), ky = src.height / Double(max(surfaceHeight, 1))
        let (a, b, c, d, e, f) = state.bufferTransform.surfaceToBuffer(width: bsw * s, height: bsh * s)
        var t = pixman_transform_t()
        let one = pixman_fixed_t(1 << 16)
        func fx(_ v: Double) -> pixman_fixed_t { pixman_fixed_t((v * 65536.0).rounded()) }
        t.matrix.0 = (fx(a * s * kx), fx(b * s * ky), fx(a * s * src.x + b * s * src.y + c))
        t.matrix.1 = (fx(d * s * kx), fx(e * s * ky), fx(d * s * src.x + e * s * src.y + f))
        t.matrix.2 = (0, 0, one)
        return t
    }

    /// 0xAARRGGBB → pixman's 16-bit-per-channel colour.
    package static func pixmanColor(_ argb: UInt32) -> pixman_color_t {
        func c(_ shift: UInt32) -> UInt16 { UInt16((argb >> shift) & 0xFF) * 0x101 }
        return pixman_color_t(red: c(16), green: c(8), blue: c(0), alpha: c(24))
    }
}
