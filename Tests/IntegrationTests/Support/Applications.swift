import Foundation
import Glibc
import PNG
import Testing

/// A rectangle on the output, in pixels.
struct Box: Equatable, CustomStringConvertible {
    var x: Int, y: Int, width: Int, height: Int
    var maxX: Int { x + width }
    var maxY: Int { y + height }
    var area: Int { width * height }
    var description: String { "\(width)x\(height)+\(x)+\(y)" }

    /// This box moved by (dx, dy).
    func offset(_ dx: Int, _ dy: Int) -> Box { Box(x: x + dx, y: y + dy, width: width, height: height) }
}

/// Colours as the tests compare them: 0xRRGGBB, each channel within `tolerance`.
enum Colour {
    static func channels(_ c: UInt32) -> (Int, Int, Int) {
        (Int(c >> 16 & 0xFF), Int(c >> 8 & 0xFF), Int(c & 0xFF))
    }

    static func close(_ a: UInt32, _ b: UInt32, tolerance: Int) -> Bool {
        let (ar, ag, ab) = channels(a), (br, bg, bb) = channels(b)
        return abs(ar - br) <= tolerance && abs(ag - bg) <= tolerance && abs(ab - bb) <= tolerance
    }

    /// Strongly coloured (not grey): the spread between the channels.
    static func saturation(_ c: UInt32) -> Int {
        let (r, g, b) = channels(c)
        return max(r, g, b) - min(r, g, b)
    }

    static func hex(_ c: UInt32) -> String { String(format: "%06x", c & 0xFF_FFFF) }
}

extension PNGImage {
    var whole: Box { Box(x: 0, y: 0, width: width, height: height) }

    /// `box` cut to the image.
    func clip(_ box: Box) -> Box {
        let x0 = max(0, box.x), y0 = max(0, box.y)
        let x1 = min(width, box.maxX), y1 = min(height, box.maxY)
        return Box(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }

    /// How many pixels of `box` satisfy `predicate` (given 0xRRGGBB).
    func count(in box: Box, where predicate: (UInt32) -> Bool) -> Int {
        let b = clip(box)
        var n = 0
        for y in b.y..<b.maxY {
            let row = y * width
            for x in b.x..<b.maxX where predicate(pixels[row + x] & 0xFF_FFFF) { n += 1 }
        }
        return n
    }

    /// The bounding box of the pixels of `box` (default: the whole image) within `tolerance` of
    /// `colour`, and how many there are; nil if none.
    func boundingBox(of colour: UInt32, tolerance: Int = 0, in box: Box? = nil) -> (box: Box, count: Int)? {
        boundingBox(in: box) { Colour.close($0, colour, tolerance: tolerance) }
    }

    /// The bounding box of the pixels of `box` (default: the whole image) that satisfy
    /// `predicate` (given 0xRRGGBB), and how many there are; nil if none.
    func boundingBox(in box: Box? = nil, where predicate: (UInt32) -> Bool) -> (box: Box, count: Int)? {
        let b = clip(box ?? whole)
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1, n = 0
        for y in b.y..<b.maxY {
            let row = y * width
            for x in b.x..<b.maxX where predicate(pixels[row + x] & 0xFF_FFFF) {
                n += 1
                x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
            }
        }
        return n == 0 ? nil : (Box(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1), n)
    }

    /// The most frequent colours of `box`, most frequent first.
    func histogram(in box: Box, top: Int = 6) -> String {
        let b = clip(box)
        var counts: [UInt32: Int] = [:]
        for y in b.y..<b.maxY { for x in b.x..<b.maxX { counts[pixels[y * width + x] & 0xFF_FFFF, default: 0] += 1 } }
        return counts.sorted { $0.value > $1.value }.prefix(top).map { "\(Colour.hex($0.key))×\($0.value)" }.joined(separator: " ")
    }
}

/// A solid box of known colour, size, and place relative to a reference box (the first of a layout).
struct ColouredBox {
    let name: String
    let colour: UInt32
    let width: Int, height: Int
    /// Offset of its top-left corner from the reference box's.
    let dx: Int, dy: Int
}

extension PNGImage {
    /// Finds `layout[0]` anywhere on screen, then checks each box: one solid rectangle of its
    /// colour (every pixel of its bounding box, and nothing else on screen of that colour), of its
    /// size, at its offset from the first. Returns what is wrong, or nothing.
    func problems(boxes layout: [ColouredBox], tolerance: Int = 3) -> [String] {
        var problems: [String] = []
        var reference: Box?
        for item in layout {
            guard let (found, count) = boundingBox(of: item.colour, tolerance: tolerance) else {
                problems.append("no \(item.name) (\(Colour.hex(item.colour))) pixel on screen")
                continue
            }
            if found.width != item.width || found.height != item.height {
                problems.append("\(item.name) box is \(found), expected \(item.width)x\(item.height)")
            }
            if count != found.area {
                problems.append("\(item.name) box \(found) is not solid: \(count) of \(found.area) pixels are \(Colour.hex(item.colour))")
            }
            if let r = reference {
                if found.x - r.x != item.dx || found.y - r.y != item.dy {
                    problems.append("\(item.name) box \(found) is at (\(found.x - r.x), \(found.y - r.y)) from \(layout[0].name), expected (\(item.dx), \(item.dy))")
                }
            } else {
                reference = found
            }
        }
        return problems
    }
}

/// One application run against its own compositord under the default flags (plus a
/// 1024×768 output and the test harness's screenshot path): starts the app, waits until a
/// screenshot shows what it should, waits a few seconds more, checks again, then stops
/// compositord (the app still connected) and expects exit 0 and a clean log.
///
/// Applications are started through `setsid`, so each is the leader of its own process group
/// (browsers and terminals start helpers): the group is killed when the session ends.
final class ApplicationSession {
    static let width = 1024, height = 768
    /// compositord's output background.
    static let background: UInt32 = 0x20_2830
    /// Where a new toplevel's window geometry goes (the first one on the output).
    static let firstWindow = (x: 32, y: 32)

    let name: String
    let compositor: CompositorProcess
    /// The applications' HOME (with XDG_CONFIG_HOME, XDG_CACHE_HOME, …, and TMPDIR under it):
    /// fresh and private, so no user configuration or cache changes what they do, and nothing is
    /// left behind.
    let home: String
    private(set) var apps: [Child] = []
    private var compositorResult: ProcessResult?
    private var applicationsKilled = false

    init(_ name: String) throws {
        self.name = name
        compositor = try CompositorProcess(["--width", "\(Self.width)", "--height", "\(Self.height)"])
        home = "\(compositor.runtime.path)/home"
        for dir in ["", "/.config", "/.cache", "/.local/share", "/.local/state", "/tmp"] { mkdir(home + dir, 0o700) }
    }

    deinit {
        killApplications()
        if compositor.isRunning { _ = compositor.terminate() }
    }

    /// Fails the test (not a skip) when `path` is missing.
    static func require(_ path: String, package: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(FileManager.default.fileExists(atPath: path),
                     "\(path) is missing: install the Debian package \(package) (run scripts/setup --test)",
                     sourceLocation: sourceLocation)
    }

    /// The environment every application gets: the compositor's socket, a private HOME, and an
    /// unreachable session bus (so GApplication and browsers never find another instance, and
    /// the run is the same with or without a desktop session around the tests).
    var baseEnvironment: [String: String] {
        var env = compositor.environment
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = home + "/.config"
        env["XDG_CACHE_HOME"] = home + "/.cache"
        env["XDG_DATA_HOME"] = home + "/.local/share"
        env["XDG_STATE_HOME"] = home + "/.local/state"
        env["TMPDIR"] = home + "/tmp"  // Chromium's singleton directory and the like go away with the runtime dir
        env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=\(compositor.runtime.path)/no-session-bus"
        env["NO_AT_BRIDGE"] = "1"
        return env
    }

    /// Starts `executable` in its own process group (setsid execs it in place: the Child's pid is
    /// the application's).
    @discardableResult
    func launch(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                tag: String? = nil) throws -> Child {
        var env = baseEnvironment
        for (k, v) in environment { env[k] = v }
        let child = try Child("/usr/bin/setsid", [executable] + arguments, environment: env, dir: compositor.runtime.path,
                              tag: tag ?? (executable as NSString).lastPathComponent)
        apps.append(child)
        return child
    }

    /// A private scratch directory under the runtime dir.
    func directory(_ name: String) -> String {
        let path = "\(compositor.runtime.path)/\(name)"
        mkdir(path, 0o700)
        return path
    }

    /// Where the last screenshot of each application test is kept (next to the test bundle),
    /// for a look after a failure.
    static let screenshotDirectory: String = {
        let path = "\(productsDirectory)/application-screenshots"
        mkdir(path, 0o755)
        return path
    }()

    private func keepScreenshot(_ suffix: String) -> String {
        let path = "\(Self.screenshotDirectory)/\(name)\(suffix).png"
        unlink(path)
        _ = try? FileManager.default.copyItem(atPath: compositor.screenshotPath, toPath: path)
        return path
    }

    private func tail(_ text: String, _ count: Int = 1500) -> String { String(text.suffix(count)) }

    /// What the applications said, for failure messages.
    var applicationOutput: String {
        apps.map { app in
            let state = app.isRunning ? "running" : "exited \(app.wait(timeout: 0).status)"
            return "[\(app.stderrPath) (\(state))]\n\(tail(app.stdout, 500))\n\(tail(app.stderr))"
        }.joined(separator: "\n")
    }

    /// Screenshots until `check` reports no problem, an application exits, or `timeout` passes.
    /// Returns the last screenshot and its problems.
    func waitUntilDrawn(timeout: Double, _ check: (PNGImage) -> [String]) throws -> (PNGImage, [String]) {
        var problems: [String] = ["no screenshot taken"]
        let shot = try compositor.screenshot(timeout: timeout) { image in
            problems = check(image)
            return problems.isEmpty || apps.contains { !$0.isRunning }
        }
        return (shot, problems)
    }

    /// Lines of compositord's log that contain `text`.
    func logLines(containing text: String) -> [Substring] {
        (compositorResult?.stderr ?? compositor.log).split(separator: "\n").filter { $0.contains(text) }
    }

    /// The whole test of a running application:
    /// 1. within `timeout` s a screenshot passes `check` (the window is composited and shows the
    ///    application's content);
    /// 2. `stay` s later every application is still running, and a new screenshot passes `check`
    ///    again within 10 s (and, with `animatedArea`, differs from the first inside it: frames
    ///    keep coming);
    /// 3. compositord, stopped with SIGTERM while the applications are still connected, exits 0;
    /// 4. its log has no protocol error and no refused pool.
    /// Prints how long the window took and compositord's pool summary.
    func expectRunsAndDraws(appearWithin timeout: Double, stay: Double = 3, animatedArea: Box? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation,
                            _ check: (PNGImage) -> [String]) throws {
        let started = Date()
        let (first, problems) = try waitUntilDrawn(timeout: timeout, check)
        let drawnAfter = Date().timeIntervalSince(started)
        let firstPath = keepScreenshot("")
        #expect(problems.isEmpty,
                "\(name): after \(String(format: "%.1f", drawnAfter)) s the screen is not as expected: \(problems) (screenshot: \(firstPath))\n\(applicationOutput)\ncompositord log:\n\(tail(compositor.log, 3000))",
                sourceLocation: sourceLocation)
        if problems.isEmpty {
            // Still alive a few seconds later, still drawn.
            let deadline = Date().addingTimeInterval(stay)
            while Date() < deadline, apps.allSatisfy(\.isRunning) { usleep(100_000) }
            for app in apps {
                #expect(app.isRunning, "\(name): \(app.stderrPath) exited within \(stay) s of drawing\n\(applicationOutput)\ncompositord log:\n\(tail(compositor.log, 3000))",
                        sourceLocation: sourceLocation)
            }
            // A moving picture (a triangle turning edge-on) may fail a check for a moment: poll.
            let (later, laterProblems) = try waitUntilDrawn(timeout: 10, check)
            let laterPath = keepScreenshot("-later")
            #expect(laterProblems.isEmpty, "\(name): \(stay) s later the screen is no longer as expected: \(laterProblems) (screenshot: \(laterPath))",
                    sourceLocation: sourceLocation)
            if let area = animatedArea {
                let a = first.clip(area)
                var changed = 0
                for y in a.y..<a.maxY { for x in a.x..<a.maxX where first.rgb(x, y) != later.rgb(x, y) { changed += 1 } }
                #expect(changed > 0, "\(name): nothing changed in \(a) in \(stay) s: the application's frames are not composited (\(firstPath), \(laterPath))",
                        sourceLocation: sourceLocation)
            }
        }

        // Stop compositord with the applications still connected.
        let result = compositor.terminate(timeout: 30)
        compositorResult = result
        #expect(!result.timedOut && result.status == 0,
                "\(name): compositord exit \(result.status)\(result.timedOut ? " (timed out, killed)" : ""):\n\(tail(result.stderr, 3000))",
                sourceLocation: sourceLocation)
        #expect(result.stderr.contains("compositor shut down"), "\(name): \(tail(result.stderr, 3000))", sourceLocation: sourceLocation)
        let errors = logLines(containing: "protocol error")
        #expect(errors.isEmpty, "\(name): compositord posted protocol errors:\n\(errors.joined(separator: "\n"))\n\(applicationOutput)",
                sourceLocation: sourceLocation)
        let refused = logLines(containing: "pool refused")
        #expect(refused.isEmpty, "\(name): compositord refused pools:\n\(refused.joined(separator: "\n"))", sourceLocation: sourceLocation)
        let summary = logLines(containing: "seal policy ").last.map { String($0.split(separator: "[compositord] ").last ?? $0) } ?? "no summary"
        print("\(name): \(problems.isEmpty ? "drawn after" : "NOT drawn, gave up after") \(String(format: "%.1f", drawnAfter)) s; \(summary)")
        killApplications()
    }

    /// SIGTERM to every application's process group, then SIGKILL to what is left after 5 s
    /// (once).
    func killApplications() {
        guard !applicationsKilled else { return }
        applicationsKilled = true
        for app in apps where app.pid > 1 { kill(-app.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, apps.contains(where: \.isRunning) { usleep(50_000) }
        for app in apps where app.pid > 1 {
            kill(-app.pid, SIGKILL)
            app.wait(timeout: 5)
        }
    }
}
