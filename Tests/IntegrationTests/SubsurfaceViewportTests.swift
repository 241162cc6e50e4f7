import ClientKit
import CWayland
import Foundation
import Testing

/// wl_subcompositor and wp_viewporter, observed where it matters: pixels on the output.
@Suite struct SubsurfaceViewportTests {
    let timeout = Duration.seconds(15)
    static let red: UInt32 = 0xFF0000, green: UInt32 = 0x00FF00, blue: UInt32 = 0x0000FF

    func connect(_ c: CompositorProcess) throws -> ClientContext {
        try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
    }

    func solid(_ context: ClientContext, _ w: Int, _ h: Int, _ rgb: UInt32) throws -> ShmBuffer {
        let set = try BufferSet(shm: context.shm, width: w, height: h, count: 1)
        let b = set.buffers[0]
        for i in 0..<(w * h) { b.pixels[i] = 0xFF00_0000 | rgb }
        return b
    }

    /// A mapped 100×100 red toplevel at (32, 32) (the first cascade slot).
    func redWindow(_ context: ClientContext, size: Int = 100) throws -> Toplevel {
        let toplevel = Toplevel(context: context, title: "parent", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let frame = try #require(toplevel.present(try solid(context, size, size, Self.red)))
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "first frame")
        return toplevel
    }

    /// Commits the parent and waits for the frame that shows it.
    func commitParent(_ toplevel: Toplevel) throws {
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        try toplevel.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "parent frame")
    }

    @Test func synchronizedSubsurfaceShowsWithItsParentsCommitAndDesyncShowsAtOnce() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try connect(c)
        let toplevel = try redWindow(context)
        let sub = try Subsurface(context: context, parent: toplevel.surface)
        sub.setPosition(x: 10, y: 20)
        sub.surface.attach(try solid(context, 30, 30, Self.green))
        sub.surface.commit()  // synchronized: cached until the parent commits
        // A frame for an unrelated reason (another window) must still not show the cached state.
        let other = try redWindow(context, size: 10)  // at (64, 64), clear of the pixels checked
        var shot = try c.screenshot()
        #expect(shot.rgb(32 + 15, 32 + 25) == Self.red, "cached sub-surface state showed before the parent's commit")
        try commitParent(toplevel)
        shot = try c.screenshot(until: { $0.rgb(32 + 15, 32 + 25) == Self.green })
        #expect(shot.rgb(32 + 10, 32 + 20) == Self.green, "sub-surface origin at parent + (10, 20)")
        #expect(shot.rgb(32 + 9, 32 + 20) == Self.red)
        #expect(shot.rgb(32 + 39, 32 + 49) == Self.green)
        #expect(shot.rgb(32 + 40, 32 + 50) == Self.red)

        // The position is parent state too: it moves only with the parent's commit.
        sub.setPosition(x: 60, y: 60)
        try commitParent(other)
        shot = try c.screenshot()
        #expect(shot.rgb(32 + 15, 32 + 25) == Self.green)
        try commitParent(toplevel)
        shot = try c.screenshot(until: { $0.rgb(32 + 65, 32 + 65) == Self.green })
        #expect(shot.rgb(32 + 15, 32 + 25) == Self.red && shot.rgb(32 + 65, 32 + 65) == Self.green)

        // Desynchronized: the sub-surface's own commit shows without the parent.
        sub.setDesync()
        sub.surface.attach(try solid(context, 30, 30, Self.blue))
        sub.surface.damageBuffer(x: 0, y: 0, width: 30, height: 30)
        let f = sub.surface.requestFrame()
        sub.surface.commit()
        try context.connection.wait(timeout: timeout) { f.isDone }.orThrow(waitingFor: "desync frame")
        shot = try c.screenshot(until: { $0.rgb(32 + 65, 32 + 65) == Self.blue })
        #expect(shot.rgb(32 + 65, 32 + 65) == Self.blue)

        // Stacking: below the (opaque) parent it is hidden; the sub-surface extends past the
        // parent's edge, where it still shows.
        sub.placeBelow(toplevel.surface)
        sub.setPosition(x: 90, y: 90)
        try commitParent(toplevel)
        shot = try c.screenshot(until: { $0.rgb(32 + 95, 32 + 95) == Self.red })
        #expect(shot.rgb(32 + 95, 32 + 95) == Self.red, "placed below the parent")
        #expect(shot.rgb(32 + 105, 32 + 105) == Self.blue, "outside the parent it shows")
        _ = other
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    @Test func subsurfaceErrors() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let toplevel = try redWindow(context)
        // A surface that already is a toplevel cannot become a sub-surface.
        let subcompositor = try context.registry.bind("wl_subcompositor", table: cw_wl_subcompositor_interface(), maxVersion: 1)
        let other = Surface(context: context)
        _ = wl_subcompositor_get_subsurface(subcompositor.proxy, other.proxy, other.proxy)
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("no protocol error for a surface parenting itself")
        } catch let error as ProtocolError {
            #expect(error.interface == "wl_subcompositor" && error.code == 0, "\(error)")
        }
        _ = toplevel
        #expect(c.isRunning)
    }

    @Test func viewportScalesAndCrops() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try connect(c)
        let toplevel = Toplevel(context: context, title: "viewport", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        // 40×40 quadrants: red, green / blue, yellow.
        let set = try BufferSet(shm: context.shm, width: 40, height: 40, count: 1)
        DemoPattern.draw(into: set.buffers[0], frame: 0)
        let viewport = try Viewport(context: context, surface: toplevel.surface)
        viewport.setDestination(width: 120, height: 80)
        let frame = try #require(toplevel.present(set.buffers[0]))
        try context.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "frame")
        var shot = try c.screenshot(until: { $0.rgb(32 + 100, 32 + 70) != DemoClientTests.background })
        // Scaled 3×2: the quadrants are 60×40; sample away from the filtered edges.
        #expect(shot.rgb(32 + 10, 32 + 10) == 0xFF0000)
        #expect(shot.rgb(32 + 110, 32 + 10) == 0x00FF00)
        #expect(shot.rgb(32 + 10, 32 + 70) == 0x0000FF)
        #expect(shot.rgb(32 + 110, 32 + 70) == 0xFFFF00)
        #expect(shot.rgb(32 + 120, 32 + 40) == DemoClientTests.background, "the surface is 120 wide")
        #expect(shot.rgb(32 + 60, 32 + 80) == DemoClientTests.background, "the surface is 80 high")

        // Crop to the bottom-right quadrant, unscaled: a 20×20 yellow surface.
        viewport.setSource(x: 20, y: 20, width: 20, height: 20)
        viewport.setDestination(width: -1, height: -1)
        try commitAndWait(toplevel)
        shot = try c.screenshot(until: { $0.rgb(32 + 25, 32 + 5) == DemoClientTests.background })
        #expect(shot.rgb(32, 32) == 0xFFFF00 && shot.rgb(32 + 19, 32 + 19) == 0xFFFF00)
        #expect(shot.rgb(32 + 20, 32 + 10) == DemoClientTests.background)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    func commitAndWait(_ toplevel: Toplevel) throws {
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        try toplevel.connection.wait(timeout: timeout) { frame.isDone }.orThrow(waitingFor: "frame")
    }

    @Test(arguments: [("negative destination", UInt32(0)), ("source outside the buffer", UInt32(2)),
                      ("fractional source without destination", UInt32(1)), ("second viewport", UInt32(0))])
    func viewportErrors(name: String, code: UInt32) throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let toplevel = Toplevel(context: context, title: "viewport", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let set = try BufferSet(shm: context.shm, width: 40, height: 40, count: 1)
        let viewport = try Viewport(context: context, surface: toplevel.surface)
        var interface = "wp_viewport"
        switch name {
        case "negative destination": viewport.setDestination(width: 0, height: 5)
        case "source outside the buffer": viewport.setSource(x: 30, y: 0, width: 20, height: 20)
        case "fractional source without destination": viewport.setSource(x: 0, y: 0, width: 10.5, height: 10)
        default:
            _ = viewport.duplicate(for: toplevel.surface)
            interface = "wp_viewporter"
        }
        toplevel.present(set.buffers[0])
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("\(name): no protocol error")
        } catch let error as ProtocolError {
            #expect(error.interface == interface && error.code == code, "\(name): \(error)")
        }
        #expect(c.isRunning)
    }
}
