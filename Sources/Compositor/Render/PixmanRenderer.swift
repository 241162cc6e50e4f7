import CPixman

/// Composites the scene into a framebuffer with pixman, touching only the damaged region.
///
/// Client pixels are read straight from their pool mappings (no per-commit copy). Views are
/// painted bottom to top: SRC for opaque formats, OVER for formats with alpha.
final class PixmanRenderer {
    /// Output background, 0xAARRGGBB.
    let background: UInt32

    init(background: UInt32) { self.background = background }

    /// Returns the buffers whose read faulted (SIGBUS caught by the guard).
    @discardableResult
    func render(_ scene: Scene, into target: OpaquePointer, damage: Region) -> [Buffer] {
        guard !damage.isEmpty else { return [] }
        damage.withPixmanRegion { _ = pixman_image_set_clip_region32(target, $0) }
        defer { pixman_image_set_clip_region32(target, nil) }

        var color = PixmanRenderer.pixmanColor(background)
        let boxes = damage.rects.map { pixman_box32_t(x1: $0.x, y1: $0.y, x2: $0.x + $0.width, y2: $0.y + $0.height) }
        boxes.withUnsafeBufferPointer { _ = pixman_image_fill_boxes(PIXMAN_OP_SRC, target, &color, Int32($0.count), $0.baseAddress) }

        var faulted: [Buffer] = []
        scene.forEachSurface { surface, x, y in
            let frame = Rect(x: x, y: y, width: surface.width, height: surface.height)
            guard let buffer = surface.current.buffer, !frame.isEmpty,
                  !damage.intersection(frame).isEmpty else { return }
            let outcome = buffer.contents.withImage { image in draw(surface.current, frame, image, buffer.contents.hasAlpha, into: target) }
            if outcome == .faulted { faulted.append(buffer) }
        }
        return faulted
    }

    private func draw(_ state: CommittedSurfaceState<Buffer>, _ frame: Rect, _ image: OpaquePointer, _ hasAlpha: Bool, into target: OpaquePointer) {
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
        let op = hasAlpha ? PIXMAN_OP_OVER : PIXMAN_OP_SRC
        pixman_image_composite32(op, image, nil, target, 0, 0, 0, 0, frame.x, frame.y, frame.width, frame.height)
        if transformed {
            pixman_image_set_transform(image, nil)
            pixman_image_set_repeat(image, PIXMAN_REPEAT_NONE)
        }
    }

    /// The viewport maps surface pixels 1:1 onto whole buffer-surface pixels (a crop, no scale).
    static func isPixelExact(_ state: CommittedSurfaceState<Buffer>, surfaceWidth: Int32, surfaceHeight: Int32) -> Bool {
        guard let src = state.viewportSource else { return state.viewportDestination == nil }
        return src.width == Double(surfaceWidth) && src.height == Double(surfaceHeight)
            && src.x.rounded() == src.x && src.y.rounded() == src.y
    }

    /// Surface coordinates → buffer coordinates: the viewport (destination → source rectangle),
    /// then multiply by the scale, then the buffer transform.
    static func matrix(for state: CommittedSurfaceState<Buffer>, surfaceWidth: Int32, surfaceHeight: Int32) -> pixman_transform_t {
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
    static func pixmanColor(_ argb: UInt32) -> pixman_color_t {
        func c(_ shift: UInt32) -> UInt16 { UInt16((argb >> shift) & 0xFF) * 0x101 }
        return pixman_color_t(red: c(16), green: c(8), blue: c(0), alpha: c(24))
    }
}
