import Buffers
import CPixman
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// Where an output sits in the global layout and how its pixels map to it: `--output
/// WxH[@HZ],position=XxY,scale=N,transform=T`.
package struct OutputPlacement: Sendable, Equatable {
    /// Top-left corner in the global (logical) layout.
    package var x: Int32 = 0, y: Int32 = 0
    /// wl_output.scale: each logical pixel covers scale×scale framebuffer pixels.
    package var scale: Int32 = 1
    /// wl_output.transform: how the framebuffer is rotated or flipped relative to the layout.
    package var transform: BufferTransform = .normal

    package init(x: Int32 = 0, y: Int32 = 0, scale: Int32 = 1, transform: BufferTransform = .normal) {
        self.x = x
        self.y = y
        self.scale = scale
        self.transform = transform
    }
}

/// One headless output: its name, mode and place in the layout, its backend's swapchain, and the
/// frame in front.
///
/// A frame is composited into the back buffer, then becomes the front. Buffers that were drawn
/// `age` frames ago get the union of the damage of the frames since (buffer-age tracking), so
/// only changed pixels are ever repainted.
package final class Output {
    package let backend: OutputBackend
    /// wl_output.name: "HEADLESS-1", "HEADLESS-2"... as wlroots' headless backend names them.
    package let name: String
    package let placement: OutputPlacement
    /// Refresh rate in mHz (wl_output.mode); 0 means "render on every commit".
    package let refreshMilliHz: Int32
    package private(set) var frameCount: UInt64 = 0
    package private(set) var front: Framebuffer?
    /// Damage of the most recent frames in framebuffer coordinates, newest last, for buffers
    /// older than one frame.
    private var damageHistory: [Region] = []
    /// Scaled or transformed outputs render the layout at logical size here first, then map it
    /// onto the framebuffer (the renderer draws surfaces unscaled and unrotated).
    private let canvas: OpaquePointer?

    package init(backend: OutputBackend, refreshMilliHz: Int32, name: String = "HEADLESS-1", placement: OutputPlacement = OutputPlacement()) {
        self.backend = backend
        self.refreshMilliHz = refreshMilliHz
        self.name = name
        self.placement = placement
        let logical = Output.logicalSize(width: backend.width, height: backend.height, placement)
        canvas = placement.scale == 1 && placement.transform == .normal
            ? nil : pixman_image_create_bits(PIXMAN_x8r8g8b8, logical.width, logical.height, nil, 0)
    }

    deinit { if let canvas { pixman_image_unref(canvas) } }

    /// The mode's size in framebuffer pixels.
    package var width: Int32 { backend.width }
    package var height: Int32 { backend.height }
    /// The framebuffer's rectangle (what capture copies).
    package var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }
    /// The output's rectangle in the global layout (zxdg_output_v1's logical position and size).
    package var layout: Rect {
        let size = Output.logicalSize(width: width, height: height, placement)
        return Rect(x: placement.x, y: placement.y, width: size.width, height: size.height)
    }
    package var description: String { "compositord headless output \(width)x\(height)" }

    /// A mode's size in the layout: rotated by the transform, divided by the scale.
    package static func logicalSize(width: Int32, height: Int32, _ placement: OutputPlacement) -> (width: Int32, height: Int32) {
        let (w, h) = placement.transform.swapsAxes ? (height, width) : (width, height)
        let s = max(placement.scale, 1)
        return ((w + s - 1) / s, (h + s - 1) / s)
    }

    /// Output-local layout damage (logical pixels) → framebuffer damage.
    package func framebufferDamage(_ damage: Region) -> Region {
        guard canvas != nil else { return damage }
        let s = placement.scale, size = layout
        var out = Region()
        for r in damage.rects {
            let scaled = Rect(x: r.x * s, y: r.y * s, width: r.width * s, height: r.height * s)
            out.formUnion(placement.transform.inverse.apply(scaled, width: size.width * s, height: size.height * s))
        }
        return out.intersection(bounds)
    }

    /// Composites `damage` (output-local, in layout pixels; plus what the back buffer missed) and
    /// makes it the front buffer. Returns the damage in framebuffer coordinates (what capture
    /// consumers are told), the region repainted and the buffers whose guarded read faulted, or
    /// nil when every other buffer is held by a consumer (the caller keeps the damage for later:
    /// compositord never writes a buffer a consumer is reading, and never waits for one).
    @discardableResult
    package func composite(_ scene: Scene, damage: Region, renderer: PixmanRenderer)
        -> (damage: Region, repainted: Region, faulted: [Buffer])? {
        // Headless, nothing scans the front buffer out: while no consumer holds it, the next frame
        // is drawn into it again (age 1: only this frame's damage is repainted, and one buffer's
        // pages are all the memory a frame touches). Otherwise the least recently drawn buffer
        // no consumer holds.
        let back: Framebuffer
        if let front, front.holds == 0 {
            back = front
        } else if let free = backend.framebuffers.filter({ $0.holds == 0 }).min(by: { $0.lastFrame < $1.lastFrame }) {
            back = free
        } else {
            return nil
        }
        frameCount += 1
        // The layout's surfaces, with their origins relative to this output's corner.
        let (ox, oy) = (placement.x, placement.y)
        let surfaces = { (body: (Surface, Int32, Int32) -> Void) in scene.forEachSurface { s, x, y in body(s, x - ox, y - oy) } }
        var faulted: [Buffer] = []
        if let canvas { faulted = renderer.render(surfaces: surfaces, into: canvas, damage: damage) }
        let fbDamage = framebufferDamage(damage)
        var repaint = fbDamage
        let age = back.lastFrame == 0 ? UInt64.max : frameCount - back.lastFrame
        if age > UInt64(damageHistory.count) + 1 {
            repaint = Region(bounds)
        } else if age > 1 {
            for d in damageHistory.suffix(Int(age - 1)) { repaint.formUnion(d) }
        }
        back.withCPUAccess(write: true) {
            if let canvas {
                mapCanvas(canvas, into: back.image, repaint)
            } else {
                faulted = renderer.render(surfaces: surfaces, into: back.image, damage: repaint)
            }
        }
        back.lastFrame = frameCount
        front = back
        damageHistory.append(fbDamage)
        if damageHistory.count > backend.framebuffers.count { damageHistory.removeFirst() }
        return (fbDamage, repaint, faulted)
    }

    /// Copies the canvas onto the framebuffer through the scale and transform, within `region`.
    private func mapCanvas(_ canvas: OpaquePointer, into target: OpaquePointer, _ region: Region) {
        guard !region.isEmpty else { return }
        // pixman maps destination (framebuffer) pixels to source (canvas) ones, down by the scale.
        // An output's transform is the inverse of a buffer's (as in wlroots, whose renderer
        // inverts buffer transforms, not output ones): the layout → framebuffer map is
        // `transform.inverse` as a buffer transform, so framebuffer → layout is `transform`.
        let (a, b, c, d, e, f) = placement.transform.surfaceToBuffer(width: Double(width), height: Double(height))
        let k = 1 / Double(max(placement.scale, 1))
        func fx(_ v: Double) -> pixman_fixed_t { pixman_fixed_t((v * 65536.0).rounded()) }
        var m = pixman_transform_t()
        m.matrix.0 = (fx(a * k), fx(b * k), fx(c * k))
        m.matrix.1 = (fx(d * k), fx(e * k), fx(f * k))
        m.matrix.2 = (0, 0, pixman_fixed_t(1 << 16))
        pixman_image_set_transform(canvas, &m)
        pixman_image_set_filter(canvas, PIXMAN_FILTER_NEAREST, nil, 0)
        region.withPixmanRegion { _ = pixman_image_set_clip_region32(target, $0) }
        pixman_image_composite32(PIXMAN_OP_SRC, canvas, nil, target, 0, 0, 0, 0, 0, 0, width, height)
        pixman_image_set_clip_region32(target, nil)
        pixman_image_set_transform(canvas, nil)
    }
}
