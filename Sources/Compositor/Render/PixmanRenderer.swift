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
        for view in scene.views {
            guard let buffer = view.surface.current.buffer, !view.frame.isEmpty,
                  !damage.intersection(view.frame).isEmpty else { continue }
            let outcome = buffer.contents.withImage { image in draw(view, image, buffer.contents.hasAlpha, into: target) }
            if outcome == .faulted { faulted.append(buffer) }
        }
        return faulted
    }

    private func draw(_ view: View, _ image: OpaquePointer, _ hasAlpha: Bool, into target: OpaquePointer) {
        let surface = view.surface
        let frame = view.frame

        let state = surface.current
        let transformed = state.bufferScale != 1 || state.bufferTransform != .normal
        if transformed {
            var matrix = PixmanRenderer.matrix(for: state, surfaceWidth: frame.width, surfaceHeight: frame.height)
            pixman_image_set_transform(image, &matrix)
            pixman_image_set_filter(image, PIXMAN_FILTER_NEAREST, nil, 0)
        }
        let op = hasAlpha ? PIXMAN_OP_OVER : PIXMAN_OP_SRC
        pixman_image_composite32(op, image, nil, target, 0, 0, 0, 0, frame.x, frame.y, frame.width, frame.height)
        if transformed { pixman_image_set_transform(image, nil) }
    }

    /// Surface coordinates → buffer coordinates: multiply by the scale, then the buffer transform.
    static func matrix(for state: CommittedSurfaceState<Buffer>, surfaceWidth: Int32, surfaceHeight: Int32) -> pixman_transform_t {
        let s = Double(max(state.bufferScale, 1))
        let (a, b, c, d, e, f) = state.bufferTransform.surfaceToBuffer(
            width: Double(surfaceWidth) * s, height: Double(surfaceHeight) * s)
        var t = pixman_transform_t()
        let one = pixman_fixed_t(1 << 16)
        func fx(_ v: Double) -> pixman_fixed_t { pixman_fixed_t((v * 65536.0).rounded()) }
        t.matrix.0 = (fx(a * s), fx(b * s), fx(c))
        t.matrix.1 = (fx(d * s), fx(e * s), fx(f))
        t.matrix.2 = (0, 0, one)
        return t
    }

    /// 0xAARRGGBB → pixman's 16-bit-per-channel colour.
    static func pixmanColor(_ argb: UInt32) -> pixman_color_t {
        func c(_ shift: UInt32) -> UInt16 { UInt16((argb >> shift) & 0xFF) * 0x101 }
        return pixman_color_t(red: c(16), green: c(8), blue: c(0), alpha: c(24))
    }
}
