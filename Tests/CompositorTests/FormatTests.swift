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

/// Every advertised wl_shm format composites to the right colour: pure red, green and blue,
/// encoded per the DRM fourcc definitions (little-endian words), read back from the output.
@Suite struct FormatTests {
    /// Encodes an opaque pixel with channels `r, g, b` ∈ {0, 1} in `format`.
    static func encode(_ format: PixelFormat, _ r: UInt32, _ g: UInt32, _ b: UInt32) -> [UInt8] {
        let a: UInt32 = 1
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        let m8: UInt32 = 0xFF, m10: UInt32 = 0x3FF, m2: UInt32 = 0x3
        switch format.name {
        case "ARGB8888", "XRGB8888": return le32(a * m8 << 24 | r * m8 << 16 | g * m8 << 8 | b * m8)
        case "ABGR8888", "XBGR8888": return le32(a * m8 << 24 | b * m8 << 16 | g * m8 << 8 | r * m8)
        case "RGBA8888", "RGBX8888": return le32(r * m8 << 24 | g * m8 << 16 | b * m8 << 8 | a * m8)
        case "BGRA8888", "BGRX8888": return le32(b * m8 << 24 | g * m8 << 16 | r * m8 << 8 | a * m8)
        case "ARGB2101010", "XRGB2101010": return le32(a * m2 << 30 | r * m10 << 20 | g * m10 << 10 | b * m10)
        case "ABGR2101010", "XBGR2101010": return le32(a * m2 << 30 | b * m10 << 20 | g * m10 << 10 | r * m10)
        case "RGB565":
            let v = UInt16(r * 0x1F << 11 | g * 0x3F << 5 | b * 0x1F)
            return [UInt8(v & 0xFF), UInt8(v >> 8)]
        default: fatalError("no encoding for \(format)")
        }
    }

    @Test(arguments: PixelFormat.all)
    func compositesRedGreenBlue(format: PixelFormat) throws {
        // Width 3: for RGB565 the stride (6 bytes) is not 4-byte aligned, which pixman cannot
        // wrap directly; the bounce path must still show the right pixels.
        let bpp = format.bytesPerPixel
        let stride = 3 * bpp
        let row = Self.encode(format, 1, 0, 0) + Self.encode(format, 0, 1, 0) + Self.encode(format, 0, 0, 1)
        let buffer = try makeShmBuffer(width: 3, height: 2, format: format, stride: stride, bytes: row + row)
        let scene = Scene(width: 8, height: 4)
        let surface = Surface(id: 1)
        surface.pending.attachment = .attached(buffer)
        _ = surface.current.apply(&surface.pending) { ($0.width, $0.height) }
        scene.map(surface, x: 2, y: 1)
        let output = Output(backend: try MemfdBackend(width: 8, height: 4), refreshMilliHz: 60000)
        output.composite(scene, damage: scene.takeDamage(), renderer: PixmanRenderer(background: 0xFF80_8080))
        let fb = try #require(output.front)
        for y in [1, 2] {
            #expect(fb.pixel(x: 2, y: y) & 0xFF_FFFF == 0xFF_0000, "\(format) red")
            #expect(fb.pixel(x: 3, y: y) & 0xFF_FFFF == 0x00_FF00, "\(format) green")
            #expect(fb.pixel(x: 4, y: y) & 0xFF_FFFF == 0x00_00FF, "\(format) blue")
        }
        #expect(fb.pixel(x: 5, y: 1) & 0xFF_FFFF == 0x80_8080)
        #expect(PixelFormat.all.count == 13)
    }
}
