import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Composites real shm buffers into a real memfd framebuffer and reads the pixels back.
@Suite struct RendererTests {
    func scene(with buffer: Buffer, at x: Int32, _ y: Int32, scale: Int32 = 1, transform: BufferTransform = .normal) -> Scene {
        let scene = Scene(width: 64, height: 48)
        let surface = Surface(id: 1)
        surface.pending.attachment = .attached(buffer)
        surface.pending.bufferScale = scale
        surface.pending.bufferTransform = transform
        _ = surface.current.apply(&surface.pending) { ($0.width, $0.height) }
        scene.map(surface, x: x, y: y)
        return scene
    }

    @Test func compositesAtTheViewPositionOverTheBackground() throws {
        let buffer = try makeShmBuffer(width: 8, height: 6) { x, _ in x < 4 ? 0xFFFF_0000 : 0xFF00_00FF }
        let s = scene(with: buffer, at: 10, 20)
        let output = Output(backend: try MemfdBackend(width: 64, height: 48), refreshMilliHz: 60000)
        output.composite(s, damage: s.takeDamage(), renderer: PixmanRenderer(background: 0xFF10_2030))
        let fb = try #require(output.front)
        #expect(fb.pixel(x: 10, y: 20) & 0xFFFFFF == 0xFF0000)
        #expect(fb.pixel(x: 17, y: 25) & 0xFFFFFF == 0x0000FF)
        #expect(fb.pixel(x: 9, y: 20) & 0xFFFFFF == 0x102030)
        #expect(fb.pixel(x: 18, y: 26) & 0xFFFFFF == 0x102030)
    }

    @Test func onlyDamageIsRepainted() throws {
        let buffer = try makeShmBuffer(width: 64, height: 48) { _, _ in 0xFF00_FF00 }
        let s = scene(with: buffer, at: 0, 0)
        _ = s.takeDamage()
        let backend = try MemfdBackend(width: 64, height: 48, count: 1)
        let output = Output(backend: backend, refreshMilliHz: 60000)
        // First frame on a fresh buffer repaints everything regardless of the damage passed.
        output.composite(s, damage: Region(Rect(x: 0, y: 0, width: 1, height: 1)), renderer: PixmanRenderer(background: 0))
        #expect(output.front!.pixel(x: 40, y: 40) & 0xFFFFFF == 0x00FF00)
        // Scribble, then a frame damaging only (0,0): the scribble outside survives.
        output.front!.data.storeBytes(of: UInt32(0x123456), toByteOffset: (40 * 64 + 40) * 4, as: UInt32.self)
        let repainted = output.composite(s, damage: Region(Rect(x: 0, y: 0, width: 1, height: 1)), renderer: PixmanRenderer(background: 0))
        #expect(repainted?.repainted == Region(Rect(x: 0, y: 0, width: 1, height: 1)))
        #expect(output.front!.pixel(x: 40, y: 40) == 0x123456)
    }

    @Test func bufferScaleAndTransformAreApplied() throws {
        // 4×2 buffer: left half red, right half blue. Scale 2 → a 2×1 surface... use rotate90:
        // a 2×4 surface whose top is the buffer's left column (transform 90 rotates back).
        let buffer = try makeShmBuffer(width: 4, height: 2) { x, _ in x < 2 ? 0xFFFF_0000 : 0xFF00_00FF }
        let s = scene(with: buffer, at: 0, 0, scale: 1, transform: .rotate90)
        let output = Output(backend: try MemfdBackend(width: 64, height: 48), refreshMilliHz: 60000)
        output.composite(s, damage: s.takeDamage(), renderer: PixmanRenderer(background: 0))
        let fb = try #require(output.front)
        #expect(s.views[0].frame == Rect(x: 0, y: 0, width: 2, height: 4))
        // The surface is displayed with the inverse transform: buffer column x maps to surface row.
        let top = fb.pixel(x: 0, y: 0) & 0xFFFFFF, bottom = fb.pixel(x: 0, y: 3) & 0xFFFFFF
        #expect(Set([top, bottom]) == Set([0xFF0000, 0x0000FF]))
        #expect(fb.pixel(x: 0, y: 0) & 0xFFFFFF == fb.pixel(x: 1, y: 0) & 0xFFFFFF)

        let scaled = try makeShmBuffer(width: 4, height: 4) { x, y in (x < 2 && y < 2) ? 0xFFFF_FFFF : 0xFF00_0000 }
        let s2 = scene(with: scaled, at: 5, 5, scale: 2)
        output.composite(s2, damage: Region(Rect(x: 0, y: 0, width: 64, height: 48)), renderer: PixmanRenderer(background: 0xFF80_8080))
        let fb2 = try #require(output.front)
        #expect(s2.views[0].frame == Rect(x: 5, y: 5, width: 2, height: 2))
        #expect(fb2.pixel(x: 5, y: 5) & 0xFFFFFF == 0xFFFFFF)
        #expect(fb2.pixel(x: 6, y: 6) & 0xFFFFFF == 0x000000)
        #expect(fb2.pixel(x: 7, y: 7) & 0xFFFFFF == 0x808080)
    }
}

extension RendererTests {
    /// A consumer holding a frame (export-dmabuf) keeps it intact: new frames go elsewhere, and
    /// when every other buffer is held the frame is skipped, never drawn into the held buffer.
    @Test func heldFramebufferIsNeverRedrawn() throws {
        let red = try makeShmBuffer(width: 64, height: 48) { _, _ in 0xFFFF_0000 }
        let blue = try makeShmBuffer(width: 64, height: 48) { _, _ in 0xFF00_00FF }
        let s = scene(with: red, at: 0, 0)
        let output = Output(backend: try MemfdBackend(width: 64, height: 48, count: 3), refreshMilliHz: 60000)
        let renderer = PixmanRenderer(background: 0)
        output.composite(s, damage: s.takeDamage(), renderer: renderer)
        let held = try #require(output.front)
        held.holds += 1
        #expect(held.pixel(x: 10, y: 10) & 0xFFFFFF == 0xFF0000)

        // New content: frames keep coming, none lands in the held buffer.
        let surface = s.views[0].surface
        for i in 0..<6 {
            surface.pending.attachment = .attached(i % 2 == 0 ? blue : red)
            _ = surface.current.apply(&surface.pending) { ($0.width, $0.height) }
            let result = output.composite(s, damage: Region(s.bounds), renderer: renderer)
            #expect(result != nil)
            #expect(output.front !== held)
            #expect(held.pixel(x: 10, y: 10) & 0xFFFFFF == 0xFF0000, "frame \(i) drew into the held buffer")
        }
        // Hold the other two as well: the frame is skipped rather than drawn into a held buffer.
        for fb in output.backend.framebuffers where fb !== held { fb.holds += 1 }
        #expect(output.composite(s, damage: Region(s.bounds), renderer: renderer) == nil)
    }
}

/// What is hidden is not drawn, and what is declared opaque is not blended.
@Suite struct OcclusionTests {
    func surface(_ buffer: Buffer, opaque: Region? = nil) -> Surface {
        let surface = Surface(id: 1)
        surface.pending.attachment = .attached(buffer)
        surface.pending.opaqueRegion = opaque
        _ = surface.current.apply(&surface.pending) { ($0.width, $0.height) }
        return surface
    }

    /// An ARGB8888 surface whose pixels are fully transparent (premultiplied 0) but which declares
    /// its left half opaque: that half is copied (alpha ignored, as the spec allows: black), the
    /// right half is blended (transparent: the background shows).
    @Test func opaqueRegionIsNotBlended() throws {
        let buffer = try makeShmBuffer(width: 8, height: 4, format: .argb8888) { _, _ in 0x0000_0000 }
        let scene = Scene(width: 32, height: 16)
        scene.map(surface(buffer, opaque: Region(Rect(x: 0, y: 0, width: 4, height: 4))), x: 2, y: 2)
        let output = Output(backend: try MemfdBackend(width: 32, height: 16), refreshMilliHz: 60000)
        output.composite(scene, damage: scene.takeDamage(), renderer: PixmanRenderer(background: 0xFF10_2030))
        let fb = try #require(output.front)
        #expect(fb.pixel(x: 2, y: 2) & 0xFFFFFF == 0x000000)
        #expect(fb.pixel(x: 5, y: 5) & 0xFFFFFF == 0x000000)
        #expect(fb.pixel(x: 6, y: 2) & 0xFFFFFF == 0x102030)
        #expect(fb.pixel(x: 9, y: 5) & 0xFFFFFF == 0x102030)
    }

    /// An opaque window fully covering another: the background fill and the lower window are
    /// skipped under it (scribbles under the top window survive only if nothing drew there, so
    /// scribble the framebuffer and repaint just the covered area: the top window's pixels win).
    @Test func stackedOpaqueWindowsShowTheTopOne() throws {
        let low = try makeShmBuffer(width: 16, height: 8) { _, _ in 0xFF00_FF00 }
        let high = try makeShmBuffer(width: 8, height: 8) { _, _ in 0xFF00_00FF }
        let scene = Scene(width: 32, height: 16)
        scene.map(surface(low), x: 0, y: 0)
        scene.map(surface(high), x: 4, y: 0)
        let output = Output(backend: try MemfdBackend(width: 32, height: 16, count: 1), refreshMilliHz: 60000)
        output.composite(scene, damage: scene.takeDamage(), renderer: PixmanRenderer(background: 0xFF10_2030))
        let fb = try #require(output.front)
        #expect(fb.pixel(x: 0, y: 0) & 0xFFFFFF == 0x00FF00)
        #expect(fb.pixel(x: 4, y: 0) & 0xFFFFFF == 0x0000FF)
        #expect(fb.pixel(x: 11, y: 7) & 0xFFFFFF == 0x0000FF)
        #expect(fb.pixel(x: 12, y: 7) & 0xFFFFFF == 0x00FF00)
        #expect(fb.pixel(x: 16, y: 0) & 0xFFFFFF == 0x102030)
    }
}
