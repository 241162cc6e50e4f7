import ClientKit
import Foundation
import PNG
import Testing

/// Several outputs from the command line (`--output`, issue 19 item 1): what clients see of
/// them (wl_output v4, zxdg_output_v1), windows placed and made fullscreen per output, pixels
/// read back per output through screencopy, ext-image-copy-capture, grim and the per-output
/// screenshots, each output's damage and frame clock, and wl_surface.enter/leave per output.
@Suite struct MultiOutputTests {
    static let timeout: Duration = .seconds(30)
    static let background: UInt32 = 0x20_2830

    /// A window: a toplevel with one buffer of its configured size (or `size`) in one colour.
    final class Window {
        let toplevel: Toplevel
        let buffers: BufferSet<ShmBuffer>

        init(_ context: ClientContext, _ title: String, colour: UInt32, size: (Int, Int)? = nil,
             fullscreenOn output: ClientKit.Output? = nil) throws {
            toplevel = Toplevel(context: context, title: title, appID: "test", fullscreen: output != nil, fullscreenOutput: output)
            try toplevel.waitForConfigure(timeout: MultiOutputTests.timeout).orThrow(waitingFor: "configure of \(title)")
            let (w, h) = size ?? toplevel.suggestedSize
            buffers = try BufferSet(shm: context.shm, width: w, height: h, count: 2)
            try show(colour)
        }

        /// Fills the next buffer (its configured size) and waits until a frame showed it.
        func show(_ colour: UInt32, split: UInt32? = nil) throws {
            let b = buffers.buffers[shown % 2]
            shown += 1
            for y in 0..<b.height {
                for x in 0..<b.width { b.pixels[y * b.width + x] = split != nil && y >= b.height / 2 ? split! : colour }
            }
            let cb = try #require(toplevel.present(b))
            try toplevel.connection.wait(timeout: MultiOutputTests.timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
        }
        private var shown = 0
    }

    /// Two 320x240 outputs side by side, three windows: a cascaded one on the first output, a
    /// fullscreen one on each output. Each output's screencopy shows its own window, at its size.
    @Test func twoOutputsEachShowTheirWindowThroughScreencopy() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240@30"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let second = try Window(context, "second", colour: 0xFF00_FF00, fullscreenOn: outputs[1])
        #expect(second.toplevel.suggestedSize == (320, 240))
        let first = try Window(context, "first", colour: 0xFFFF_0000, size: (64, 64))

        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        try #require(capturer.outputs.count == 2)
        let one = try capturer.capture(.screencopy, output: capturer.outputs[0], timeout: Self.timeout)
        let two = try capturer.capture(.screencopy, output: capturer.outputs[1], timeout: Self.timeout)
        #expect(one.image.width == 320 && one.image.height == 240)
        #expect(two.image.width == 320 && two.image.height == 240)
        // The cascade goes on from the first output's corner: the second window is at (64, 64).
        #expect(one.image.rgb(x: 70, y: 70) == 0xFF0000, "0x\(String(one.image.rgb(x: 70, y: 70), radix: 16))")
        #expect(one.image.rgb(x: 63, y: 63) == Self.background && one.image.rgb(x: 200, y: 200) == Self.background)
        for (x, y) in [(0, 0), (319, 0), (0, 239), (319, 239), (160, 120)] {
            #expect(two.image.rgb(x: x, y: y) == 0x00FF00, "output 2 at (\(x), \(y)): 0x\(String(two.image.rgb(x: x, y: y), radix: 16))")
        }
        #expect(first.toplevel.surface.isOn(outputs[0]) && !first.toplevel.surface.isOn(outputs[1]))
        #expect(second.toplevel.surface.isOn(outputs[1]) && !second.toplevel.surface.isOn(outputs[0]))

        // The screenshot mechanism writes one PNG per output.
        let shot = try c.screenshot()
        let other = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(
            atPath: "\(c.runtime.path)/screenshot-HEADLESS-2.png"))))
        #expect(shot.width == 320 && shot.rgb(70, 70) == 0xFF0000 && shot.rgb(200, 200) == Self.background)
        #expect(other.width == 320 && other.rgb(10, 10) == 0x00FF00 && other.rgb(310, 230) == 0x00FF00)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// Three outputs of different sizes and refresh rates, one given a position: names,
    /// geometry, modes and logical rectangles as a client sees them, and a fullscreen window of
    /// its output's size on each, read back per output with screencopy.
    @Test func threeOutputsDescribeThemselvesAndShowTheirWindows() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "200x100@30", "--output", "160x120@0,position=0x400"])
        #expect(c.child.stdout.contains("HEADLESS-3 0,400"), "\(c.child.stdout)")
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let list = try OutputList(registry: context.registry, timeout: Self.timeout)
        let outputs = list.outputs
        try #require(outputs.count == 3)
        let expected: [(name: String, x: Int, y: Int, w: Int, h: Int, mHz: Int)] = [
            ("HEADLESS-1", 0, 0, 320, 240, 60000), ("HEADLESS-2", 320, 0, 200, 100, 30000), ("HEADLESS-3", 0, 400, 160, 120, 0),
        ]
        for (o, e) in zip(outputs, expected) {
            #expect(o.version == 4 && o.name == e.name && o.description?.contains("\(e.w)x\(e.h)") == true, "\(o.name ?? "-")")
            #expect(o.x == e.x && o.y == e.y && o.scale == 1 && o.transform == 0 && o.doneCount >= 1)
            #expect(o.currentMode == OutputMode(width: e.w, height: e.h, refreshMilliHz: e.mHz, flags: 3), "\(String(describing: o.currentMode))")
            let logical = try #require(o.logical)
            #expect(logical.x == e.x && logical.y == e.y && logical.width == e.w && logical.height == e.h, "\(logical)")
        }

        let colours: [UInt32] = [0xFFFF_0000, 0xFF00_FF00, 0xFF00_00FF]
        var windows: [Window] = []
        for (i, o) in outputs.enumerated() {
            windows.append(try Window(context, "w\(i)", colour: colours[i], fullscreenOn: o))
            #expect(windows[i].toplevel.suggestedSize == (expected[i].w, expected[i].h))
        }
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        for (i, o) in capturer.outputs.enumerated() {
            let frame = try capturer.capture(.screencopy, output: o, timeout: Self.timeout)
            #expect(frame.image.width == expected[i].w && frame.image.height == expected[i].h)
            let want = colours[i] & 0xFF_FFFF
            for (x, y) in [(0, 0), (expected[i].w - 1, expected[i].h - 1), (expected[i].w / 2, expected[i].h / 2)] {
                #expect(frame.image.rgb(x: x, y: y) == want, "output \(i + 1) at (\(x), \(y)): 0x\(String(frame.image.rgb(x: x, y: y), radix: 16))")
            }
            #expect(windows[i].toplevel.surface.outputCount == 1 && windows[i].toplevel.surface.isOn(outputs[i]))
        }
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// enter and leave follow the window: fullscreen on output 2 (enter 2), moved to output 3
    /// by set_fullscreen (leave 2, enter 3), then back to a cascaded window on output 1 (the one
    /// under the pointer) that is wide enough to reach output 2 too (leave 3, enter 1 and 2).
    @Test func enterAndLeaveFollowTheWindowAcrossOutputs() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240", "--output", "320x240"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 3)
        let window = try Window(context, "roaming", colour: 0xFFFF_00FF, fullscreenOn: outputs[1])
        let surface = window.toplevel.surface
        #expect(surface.isOn(outputs[1]) && surface.outputCount == 1)

        window.toplevel.setFullscreen(true, on: outputs[2])
        try window.show(0xFFFF_00FF)
        #expect(surface.isOn(outputs[2]) && !surface.isOn(outputs[1]) && surface.outputCount == 1)

        // Unfullscreened, the client picks its size: 400 wide from (64, 64), the second cascade
        // position (its own view still counts), crosses into output 2.
        window.toplevel.setFullscreen(false)
        try context.connection.roundtrip(timeout: Self.timeout).orThrow(waitingFor: "configure")
        let wide = try BufferSet(shm: context.shm, width: 400, height: 100, count: 1)
        for i in 0..<(400 * 100) { wide.buffers[0].pixels[i] = 0xFF00_FFFF }
        let cb = try #require(window.toplevel.present(wide.buffers[0]))
        try context.connection.wait(timeout: Self.timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
        #expect(surface.isOn(outputs[0]) && surface.isOn(outputs[1]) && !surface.isOn(outputs[2]) && surface.outputCount == 2)
        let order = surface.outputEvents.map { ev in (ev.entered, outputs.firstIndex { $0.isProxy(ev.output) } ?? -1) }
        #expect(order.map { "\($0.0 ? "enter" : "leave") \($0.1 + 1)" }
                == ["enter 2", "leave 2", "enter 3", "leave 3", "enter 1", "enter 2"], "\(order)")

        // Both outputs show their part of it.
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        let one = try capturer.capture(.screencopy, output: capturer.outputs[0], timeout: Self.timeout)
        let two = try capturer.capture(.screencopy, output: capturer.outputs[1], timeout: Self.timeout)
        #expect(one.image.rgb(x: 319, y: 100) == 0x00FFFF && one.image.rgb(x: 63, y: 100) == Self.background)
        #expect(two.image.rgb(x: 0, y: 64) == 0x00FFFF && two.image.rgb(x: 143, y: 163) == 0x00FFFF)
        #expect(two.image.rgb(x: 144, y: 100) == Self.background && two.image.rgb(x: 50, y: 164) == Self.background)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// Each output has its own frame clock: a window on a 10 Hz output gets its frame callbacks
    /// 100 ms apart, one on the 60 Hz output about 17 ms apart.
    @Test func frameCallbacksFollowTheClockOfTheWindowsOutput() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240@10"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let fast = try Window(context, "fast", colour: 0xFFFF_0000, fullscreenOn: outputs[0])
        let slow = try Window(context, "slow", colour: 0xFF00_FF00, fullscreenOn: outputs[1])
        /// Redraws `frames` times paced by frame callbacks; the callbacks' timestamps (ms).
        func stamps(_ window: Window, frames: Int) throws -> [UInt32] {
            var times: [UInt32] = []
            for i in 0..<frames {
                let b = window.buffers.buffers[i % 2]
                let cb = try #require(window.toplevel.present(b))
                try context.connection.wait(timeout: Self.timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
                times.append(cb.callbackData)
            }
            return times
        }
        func median(_ t: [UInt32]) -> UInt32 {
            let gaps = zip(t.dropFirst(), t).map { $0 &- $1 }.sorted()
            return gaps[gaps.count / 2]
        }
        let slowGap = median(try stamps(slow, frames: 6)), fastGap = median(try stamps(fast, frames: 20))
        #expect((95...105).contains(slowGap), "10 Hz output: \(slowGap) ms between frame callbacks")
        #expect((14...20).contains(fastGap), "60 Hz output: \(fastGap) ms between frame callbacks")

        // wp_presentation: each window's content is presented by its own output, with its
        // refresh and its wl_output.
        let presentation = try Presentation(context: context, timeout: Self.timeout)
        for (window, output, refreshNs) in [(slow, outputs[1], UInt32(100_000_000)), (fast, outputs[0], UInt32(16_666_666))] {
            let feedback = presentation.feedback(for: window.toplevel.surface)
            try window.show(0xFF80_8080)
            try context.connection.wait(timeout: Self.timeout) { feedback.outcome != nil }.orThrow(waitingFor: "presentation feedback")
            let presented = try #require(feedback.presented, "\(String(describing: feedback.outcome))")
            #expect(presented.refreshNs == refreshNs, "\(presented)")
            #expect(feedback.syncOutputProxies.count == 1 && feedback.syncOutputProxies.allSatisfy(output.isProxy), "\(feedback.syncOutputProxies)")
        }
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// Maximize sizes a window to the output it is on: fullscreen on the smaller second output,
    /// then maximized there, then no longer fullscreen: it stays maximized on that output, at its
    /// corner and size, not the first output's.
    @Test func maximizeFollowsTheWindowsOutput() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "200x100,position=400x50"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let window = try Window(context, "maximized", colour: 0xFF00_FF00, fullscreenOn: outputs[1])
        #expect(window.toplevel.suggestedSize == (200, 100))
        window.toplevel.setMaximized(true)
        window.toplevel.setFullscreen(false)
        try context.connection.roundtrip(timeout: Self.timeout).orThrow(waitingFor: "configure")
        #expect(window.toplevel.suggestedSize == (200, 100), "\(window.toplevel.suggestedSize)")
        try window.show(0xFF00_00FF)
        #expect(window.toplevel.surface.isOn(outputs[1]) && !window.toplevel.surface.isOn(outputs[0]))
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        let two = try capturer.capture(.screencopy, output: capturer.outputs[1], timeout: Self.timeout)
        #expect(two.image.rgb(x: 0, y: 0) == 0x0000FF && two.image.rgb(x: 199, y: 99) == 0x0000FF)
        let one = try capturer.capture(.screencopy, output: capturer.outputs[0], timeout: Self.timeout)
        #expect(one.image.rgb(x: 100, y: 100) == Self.background)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// A scaled, rotated output: wl_output says so, zxdg_output_v1 gives its logical size (the
    /// mode rotated, divided by the scale), a fullscreen window gets that size, and the
    /// framebuffer (what screencopy copies) holds it rotated and scaled.
    @Test func aScaledRotatedOutputMapsItsWindowOntoItsFramebuffer() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240@30,scale=2,transform=90"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let rotated = outputs[1]
        #expect(rotated.x == 320 && rotated.y == 0 && rotated.scale == 2 && rotated.transform == 1)
        #expect(rotated.currentMode?.width == 320 && rotated.currentMode?.height == 240)
        let logical = try #require(rotated.logical)
        #expect(logical.x == 320 && logical.width == 120 && logical.height == 160, "\(logical)")

        // Top half green, bottom half blue, in the layout.
        let window = try Window(context, "rotated", colour: 0xFF00_FF00, fullscreenOn: rotated)
        #expect(window.toplevel.suggestedSize == (120, 160))
        try window.show(0xFF00_FF00, split: 0xFF00_00FF)
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        let frame = try capturer.capture(.screencopy, output: capturer.outputs[1], timeout: Self.timeout)
        #expect(frame.image.width == 320 && frame.image.height == 240)
        // Transform 90, as wlroots renders it (and grim turns it upright, below): the layout's
        // top lies along the framebuffer's left edge.
        #expect(frame.image.rgb(x: 20, y: 120) == 0x00FF00 && frame.image.rgb(x: 158, y: 234) == 0x00FF00, "0x\(String(frame.image.rgb(x: 20, y: 120), radix: 16))")
        #expect(frame.image.rgb(x: 300, y: 120) == 0x0000FF && frame.image.rgb(x: 161, y: 5) == 0x0000FF, "0x\(String(frame.image.rgb(x: 300, y: 120), radix: 16))")
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// ext-image-copy-capture: an output source made from a wl_output captures that output, at
    /// its size, with its window.
    @Test func imageCopyCaptureOfEachOutput() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "200x100@30"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let windows = [try Window(context, "one", colour: 0xFFFF_0000, fullscreenOn: outputs[0]),
                       try Window(context, "two", colour: 0xFF00_FF00, fullscreenOn: outputs[1])]
        for (i, (w, h, rgb)) in [(320, 240, UInt32(0xFF0000)), (200, 100, UInt32(0x00FF00))].enumerated() {
            let stream = try ImageCopyCaptureStream(connection: try Connection(displayName: display), outputIndex: i, timeout: Self.timeout)
            #expect(stream.constraints.width == w && stream.constraints.height == h, "\(stream.constraints)")
            let frame = try stream.capturedFrame(timeout: Self.timeout)
            #expect(frame.image.width == w && frame.image.height == h)
            #expect(frame.image.rgb(x: 0, y: 0) == rgb && frame.image.rgb(x: w - 1, y: h - 1) == rgb, "output \(i + 1)")
        }
        _ = windows
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// A toplevel source captures a window wherever it is: on the second output, its first
    /// frame and then, after it changed, the next (paced and damaged in the layout, not by one
    /// output's framebuffer).
    @Test func toplevelCaptureOfAWindowOnTheSecondOutput() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "200x100@30,position=320x0,scale=2"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let window = try Window(context, "two", colour: 0xFFFF_0000, fullscreenOn: outputs[1])
        #expect(window.toplevel.suggestedSize == (100, 50))
        let stream = try ImageCopyCaptureStream(connection: try Connection(displayName: display), toplevelAppID: "test", timeout: Self.timeout)
        #expect(stream.constraints.width == 100 && stream.constraints.height == 50, "\(stream.constraints)")
        func pixel(_ x: Int, _ y: Int) throws -> UInt32 {
            try #require(stream.pixels).load(fromByteOffset: y * stream.stride + x * 4, as: UInt32.self) & 0xFF_FFFF
        }
        guard case .ready = try stream.next(timeout: Self.timeout) else { Issue.record("the first frame failed"); return }
        #expect(try pixel(0, 0) == 0xFF0000 && pixel(99, 49) == 0xFF0000)
        try window.show(0xFF00_00FF)
        guard case let .ready(_, damage, _) = try stream.next(timeout: .seconds(10)) else { Issue.record("the second frame failed"); return }
        #expect(damage == [CaptureRect(x: 0, y: 0, width: 100, height: 50)], "\(damage)")
        #expect(try pixel(0, 0) == 0x0000FF && pixel(99, 49) == 0x0000FF)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// Each output has its own damage: copy_with_damage of an output reports what changed on
    /// it, in its own coordinates, and nothing that changed on another output.
    @Test func copyWithDamageReportsEachOutputsOwnDamage() throws {
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let right = try Window(context, "right", colour: 0xFF00_FF00, fullscreenOn: outputs[1])
        let left = try Window(context, "left", colour: 0xFFFF_0000, size: (64, 64))
        let capturer = try OutputCapture(connection: try Connection(displayName: display), timeout: Self.timeout)
        let (one, two) = (capturer.outputs[0], capturer.outputs[1])
        #expect(try capturer.capture(.screencopy, output: one, withDamage: true, timeout: Self.timeout).damage
                == [CaptureRect(x: 0, y: 0, width: 320, height: 240)])
        #expect(try capturer.capture(.screencopy, output: two, withDamage: true, timeout: Self.timeout).damage
                == [CaptureRect(x: 0, y: 0, width: 320, height: 240)])

        // A 10x10 change at (100, 50) of the fullscreen window on output 2.
        let b = right.buffers.buffers[0]
        for y in 50..<60 { for x in 100..<110 { b.pixels[y * b.width + x] = 0xFF00_00FF } }
        right.toplevel.surface.attach(b)
        right.toplevel.surface.damageBuffer(x: 100, y: 50, width: 10, height: 10)
        let cb = right.toplevel.surface.requestFrame()
        right.toplevel.surface.commit()
        try context.connection.wait(timeout: Self.timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
        let changed = try capturer.capture(.screencopy, output: two, withDamage: true, timeout: Self.timeout)
        #expect(changed.damage == [CaptureRect(x: 100, y: 50, width: 10, height: 10)], "\(changed.damage)")
        #expect(changed.image.rgb(x: 105, y: 55) == 0x0000FF && changed.image.rgb(x: 99, y: 55) == 0x00FF00)

        // Output 1's next damage is its own window's change, not output 2's.
        try left.show(0xFFFF_FF00)
        let own = try capturer.capture(.screencopy, output: one, withDamage: true, timeout: Self.timeout)
        #expect(own.damage == [CaptureRect(x: 64, y: 64, width: 64, height: 64)], "\(own.damage)")
        #expect(own.image.rgb(x: 70, y: 70) == 0xFFFF00)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// grim composes the layout from each output's screencopy and zxdg_output_v1 rectangle (a
    /// scaled, rotated output included), and `grim -o NAME` takes one output by its wl_output name.
    @Test func grimCapturesTheLayoutAndEachOutputByName() throws {
        let grim = "/usr/bin/grim"
        try #require(FileManager.default.fileExists(atPath: grim), "install grim (scripts/test does)")
        let c = try CompositorProcess(["--output", "320x240", "--output", "320x240@30,scale=2,transform=90"])
        let display = "\(c.runtime.path)/\(c.socketName)"
        let context = try ClientContext(displayName: display, timeout: Self.timeout)
        let outputs = try OutputList(registry: context.registry, timeout: Self.timeout).outputs
        try #require(outputs.count == 2)
        let left = try Window(context, "left", colour: 0xFFFF_0000, fullscreenOn: outputs[0])
        let right = try Window(context, "right", colour: 0xFF00_FF00, fullscreenOn: outputs[1])
        try right.show(0xFF00_FF00, split: 0xFF00_00FF)
        _ = left

        let whole = "\(c.runtime.path)/grim.png", one = "\(c.runtime.path)/grim-2.png"
        #expect(try c.run(grim, [whole], timeout: 30, tag: "grim").status == 0)
        #expect(try c.run(grim, ["-o", "HEADLESS-2", one], timeout: 30, tag: "grim-o").status == 0)
        // The layout is 440x240: output 1 at 0..320, output 2 (120x160 logical) at 320..440;
        // grim draws it at the greatest output scale (2).
        let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: whole))))
        let k = shot.width / 440
        #expect((k == 1 || k == 2) && shot.width == 440 * k && shot.height == 240 * k, "\(shot.width)x\(shot.height)")
        func at(_ x: Int, _ y: Int) -> UInt32 { shot.rgb(x * k, y * k) }
        #expect(at(10, 10) == 0xFF0000 && at(319, 239) == 0xFF0000)
        #expect(at(330, 10) == 0x00FF00 && at(430, 70) == 0x00FF00, "0x\(String(at(330, 10), radix: 16))")
        #expect(at(330, 90) == 0x0000FF && at(430, 150) == 0x0000FF, "0x\(String(at(330, 90), radix: 16))")
        #expect(at(330, 200) == 0, "below output 2 lies no output: 0x\(String(at(330, 200), radix: 16))")
        // One output alone, upright at its logical size times its scale.
        let alone = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: one))))
        let j = alone.width / 120
        #expect((j == 1 || j == 2) && alone.width == 120 * j && alone.height == 160 * j, "\(alone.width)x\(alone.height)")
        #expect(alone.rgb(5 * j, 5 * j) == 0x00FF00 && alone.rgb(115 * j, 75 * j) == 0x00FF00 && alone.rgb(5 * j, 85 * j) == 0x0000FF)
        #expect(!c.log.contains("protocol error"), "\(c.log)")
        let exit = c.terminate()
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// `compositord run` passes --output on: a client runs against two outputs, and the final
    /// screenshot is one file per output.
    @Test func runWithTwoOutputsWritesAScreenshotPerOutput() throws {
        let rt = RuntimeDir()
        let shot = "\(rt.path)/final.png"
        let demo = "\(productsDirectory)/demo-client"
        let r = try Child("\(productsDirectory)/compositord",
                          ["run", "--output", "320x240", "--output", "200x100@30", "--screenshot", shot, "--", "sh", "-c",
                           "\(demo) --frames 10 && { \(demo) --frames 100000 >/dev/null 2>&1 & sleep 2; }"],
                          environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: "run").wait(timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let one = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: shot))))
        let two = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: "\(rt.path)/final-HEADLESS-2.png"))))
        #expect(one.width == 320 && one.height == 240 && one.rgb(96, 96) == 0xFF0000 && one.rgb(10, 10) == Self.background)
        #expect(two.width == 200 && two.height == 100 && two.rgb(100, 50) == Self.background)
    }

    /// Syntax errors are caught before anything starts, with the expected form in the message.
    @Test func badOutputArgumentsAreRefused() throws {
        for bad in [["--output", "0x100"], ["--output", "100x100,scale=9"], ["--output", "100x100,transform=45"],
                    ["--output", "100x100,position=-5x0"], ["--output", "100x100", "--width", "100"]] {
            let runtime = RuntimeDir()
            let child = try Child("\(productsDirectory)/compositord", ["--headless"] + bad,
                                  environment: ["XDG_RUNTIME_DIR": runtime.path], dir: runtime.path, tag: "compositord")
            let result = child.wait(timeout: 10)
            #expect(result.status != 0 && result.stderr.contains("--output"), "\(bad): \(result.status) \(result.stderr)")
        }
    }
}
