import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs

/// `--output` parsing, the layout it makes, and a scaled, rotated output's framebuffer.
@Suite struct OutputLayoutTests {
    @Test func outputArgumentsParse() throws {
        let plain = try OutputConfiguration(parsing: "1280x720")
        #expect(plain.width == 1280 && plain.height == 720 && plain.refreshHz == 60 && plain.position == nil)
        #expect(plain.scale == 1 && plain.transform == 0)
        let full = try OutputConfiguration(parsing: "1280x720@30,position=1920x0,scale=2,transform=90")
        #expect(full.width == 1280 && full.refreshHz == 30 && full.position?.x == 1920 && full.position?.y == 0)
        #expect(full.scale == 2 && full.transform == 1)
        #expect(try OutputConfiguration(parsing: "64x64@0,transform=flipped-270").transform == 7)
        for bad in ["", "1280", "1280x", "x720", "0x720", "1280x720@", "1280x720@-1", "1280x720,scale=0", "1280x720,scale=5",
                    "1280x720,transform=45", "1280x720,position=1x", "1280x720,position=-1x0", "1280x720,name=A", "1280x720,",
                    "20000x10"] {
            #expect(throws: OutputSyntaxError.self, "\(bad)") { try OutputConfiguration(parsing: bad) }
        }
    }

    /// Outputs without a position go right of the previous one (its logical width), at y 0.
    @Test func outputsWithoutAPositionLineUpToTheRight() throws {
        var config = ServerConfiguration()
        config.outputs = try ["1920x1080", "1280x720,scale=2,transform=90", "100x100,position=0x2000", "50x50"].map {
            try OutputConfiguration(parsing: $0)
        }
        let placed = Server.placements(config).map(\.1)
        #expect(placed.map(\.x) == [0, 1920, 0, 100] && placed.map(\.y) == [0, 0, 2000, 0])
        #expect(Output.logicalSize(width: 1280, height: 720, placed[1]) == (360, 640))
        // No --output: the one output from --width, --height and --refresh.
        var single = ServerConfiguration()
        single.width = 800
        single.height = 600
        let one = Server.placements(single)
        #expect(one.count == 1 && one[0].0.width == 800 && one[0].0.height == 600 && one[0].1 == OutputPlacement())
    }

    /// The scene's layout: extents, which output holds a point, which one a window covers most.
    @Test func theLayoutFindsOutputs() {
        let scene = Scene(outputs: [Rect(x: 0, y: 0, width: 100, height: 50), Rect(x: 100, y: 0, width: 60, height: 80)])
        #expect(scene.width == 160 && scene.height == 80)
        #expect(scene.outputIndex(atX: 99.5, y: 10) == 0 && scene.outputIndex(atX: 100, y: 70) == 1 && scene.outputIndex(atX: 50, y: 60) == nil)
        #expect(scene.outputIndex(mostlyCovering: Rect(x: 70, y: 0, width: 40, height: 10)) == 0)
        #expect(scene.outputIndex(mostlyCovering: Rect(x: 90, y: 0, width: 40, height: 10)) == 1)
        #expect(scene.outputIndex(mostlyCovering: Rect(x: 0, y: 60, width: 40, height: 10)) == nil)
        // The pointer stays on the outputs: out of the gap below the first, off the far edges.
        let edge = 1.0 / 256
        func at(_ x: Double, _ y: Double) -> [Double] { let p = scene.closestPointOnOutputs(x: x, y: y); return [p.x, p.y] }
        #expect(at(50, 70) == [50, 50 - edge])
        #expect(at(105, 70) == [105, 70])
        #expect(at(500, -5) == [160 - edge, 0])
        #expect(at(-3, 20) == [0, 20])
        // One output: the old clamp.
        let one = Scene(width: 64, height: 48).closestPointOnOutputs(x: 100, y: 100)
        #expect([one.x, one.y] == [64 - edge, 48 - edge])
    }

    /// Scale 2, transform 270: a 2x3 window filling the output's layout rectangle becomes a 6x4
    /// framebuffer, each layout pixel a 2x2 block, rotated as wlroots rotates (framebuffer →
    /// layout is the transform taken as a buffer transform); damage maps onto the same blocks.
    @Test func aScaledRotatedOutputMapsEveryLayoutPixel() throws {
        let backend = try MemfdBackend(width: 6, height: 4, count: 1)
        let output = Output(backend: backend, refreshMilliHz: 60000, placement: OutputPlacement(x: 10, scale: 2, transform: .rotate270))
        #expect(output.layout == Rect(x: 10, y: 0, width: 2, height: 3))
        func colour(_ x: Int, _ y: Int) -> UInt32 { 0xFF00_0000 | UInt32(0x10 * (x + 1)) << 16 | UInt32(0x10 * (y + 1)) }
        let buffer = try makeShmBuffer(width: 2, height: 3) { x, y in colour(Int(x), Int(y)) }
        let scene = Scene(outputs: [Rect(x: 0, y: 0, width: 10, height: 3), output.layout])
        let surface = Surface(id: 1)
        surface.pending.attachment = .attached(buffer)
        _ = surface.current.apply(&surface.pending) { ($0.width, $0.height) }
        scene.map(surface, x: 10, y: 0)
        #expect(surface.outputMask == 0b10)
        output.composite(scene, damage: Region(Rect(x: 0, y: 0, width: 2, height: 3)), renderer: PixmanRenderer(background: 0xFF11_2233))
        let fb = try #require(output.front)
        // Framebuffer (bx, by) shows layout pixel (by / 2, (5 - bx) / 2).
        for by in 0..<4 {
            for bx in 0..<6 {
                let want = colour(by / 2, (5 - bx) / 2) & 0xFF_FFFF
                #expect(fb.pixel(x: bx, y: by) & 0xFF_FFFF == want, "(\(bx), \(by))")
            }
        }
        #expect(output.framebufferDamage(Region(Rect(x: 0, y: 0, width: 1, height: 1))) == Region(Rect(x: 4, y: 0, width: 2, height: 2)))
        #expect(output.framebufferDamage(Region(Rect(x: 0, y: 0, width: 2, height: 3))) == Region(output.bounds))
    }
}

private extension Rect {
    func translated(_ dx: Int32, _ dy: Int32) -> Rect { Rect(x: x + dx, y: y + dy, width: width, height: height) }
}
