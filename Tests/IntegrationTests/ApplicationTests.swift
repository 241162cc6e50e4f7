import Foundation
import Glibc
import PNG
import Testing

/// Debian 12's real applications against the real compositord, under its default flags: each
/// must come up, have its window composited with its own content (read back from a screenshot),
/// still run a few seconds later, cause no protocol error and no refused pool, and compositord
/// must exit 0 when stopped with the application still connected. docs/applications.md says how
/// each one is started, which wl_shm pools it sends and what is checked.
///
/// Serialized: the machine may have two cores, and the browsers are heavy. The packages come
/// from `scripts/setup --test`; a missing one fails the test (it is not skipped).
@Suite(.serialized) struct ApplicationTests {
    /// Tests/IntegrationTests/Fixtures (excluded from the target: read from the source tree).
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Fixtures").path
    }()

    typealias Session = ApplicationSession

    // MARK: GTK

    /// GTK's built-in theme, Adwaita, which both widget factories use: the window background
    /// F6F5F4 covers much of the window, the accent blue 3584E4 (check boxes, sliders,
    /// progress bars) and dark text are on it.
    static func adwaitaProblems(_ shot: PNGImage) -> [String] {
        let window = Box(x: Session.firstWindow.x, y: Session.firstWindow.y,
                         width: Session.width - Session.firstWindow.x, height: Session.height - Session.firstWindow.y)
        var problems: [String] = []
        let windowBackground = shot.count(in: window) { $0 == 0xF6_F5F4 }
        if windowBackground < window.area / 4 {
            problems.append("Adwaita's window background f6f5f4 covers \(windowBackground) of \(window.area) pixels of \(window)")
        }
        let accent = shot.count(in: window) { $0 == 0x35_84E4 }
        if accent < 500 { problems.append("\(accent) pixels of Adwaita's accent 3584e4 in \(window)") }
        let text = shot.count(in: window) { c in let (r, g, b) = Colour.channels(c); return r < 0x60 && g < 0x60 && b < 0x60 }
        if text < 500 { problems.append("\(text) dark (text) pixels in \(window)") }
        if !problems.isEmpty { problems.append("colours: \(shot.histogram(in: window))") }
        return problems
    }

    /// 1. GTK 3: gtk3-widget-factory (gtk-3-examples), forced onto Wayland.
    @Test func gtk3WidgetFactory() throws {
        try Session.require("/usr/bin/gtk3-widget-factory", package: "gtk-3-examples")
        let s = try Session("gtk3-widget-factory")
        try s.launch("/usr/bin/gtk3-widget-factory", environment: ["GDK_BACKEND": "wayland"])
        try s.expectRunsAndDraws(appearWithin: 30, Self.adwaitaProblems)
    }

    /// 2. GTK 4: gtk4-widget-factory (gtk-4-examples). No GPU: GSK falls back to its cairo
    /// renderer and wl_shm.
    @Test func gtk4WidgetFactory() throws {
        try Session.require("/usr/bin/gtk4-widget-factory", package: "gtk-4-examples")
        let s = try Session("gtk4-widget-factory")
        try s.launch("/usr/bin/gtk4-widget-factory", environment: ["GDK_BACKEND": "wayland"])
        try s.expectRunsAndDraws(appearWithin: 30, Self.adwaitaProblems)
    }

    // MARK: Qt

    /// Fixtures/qt-boxes.py's 2×2 grid of 160×120 boxes.
    static let qtBoxes = [
        ColouredBox(name: "red", colour: 0xFF_0000, width: 160, height: 120, dx: 0, dy: 0),
        ColouredBox(name: "green", colour: 0x00_FF00, width: 160, height: 120, dx: 160, dy: 0),
        ColouredBox(name: "blue", colour: 0x00_00FF, width: 160, height: 120, dx: 0, dy: 120),
        ColouredBox(name: "yellow", colour: 0xFF_FF00, width: 160, height: 120, dx: 160, dy: 120),
    ]

    /// 3 and 4. A PyQt widgets window (Fixtures/qt-boxes.py) on Qt's Wayland platform plugin
    /// (qtwayland5 / qt6-wayland), with Qt's own window decorations.
    @Test(arguments: [5, 6])
    func pyQtWidgets(qt: Int) throws {
        let module = "/usr/lib/python3/dist-packages/PyQt\(qt)"
        try Session.require(module, package: "python3-pyqt\(qt)")
        try Session.require("/usr/lib/x86_64-linux-gnu/qt\(qt)/plugins/platforms/libqwayland-generic.so",
                            package: qt == 5 ? "qtwayland5" : "qt6-wayland")
        let s = try Session("pyqt\(qt)")
        // Debian's python3 (where python3-pyqt5/6 live), not whichever python3 is first on PATH.
        try s.launch("/usr/bin/python3", ["\(Self.fixtures)/qt-boxes.py", "\(qt)"],
                     environment: ["QT_QPA_PLATFORM": "wayland"], tag: "qt-boxes-\(qt)")
        try s.expectRunsAndDraws(appearWithin: 30) { $0.problems(boxes: Self.qtBoxes) }
    }

    // MARK: Browsers

    /// Fixtures/boxes.html's boxes, relative to the red one.
    static let pageBoxes = [
        ColouredBox(name: "red", colour: 0xFF_0000, width: 200, height: 100, dx: 0, dy: 0),
        ColouredBox(name: "green", colour: 0x00_FF00, width: 100, height: 100, dx: 240, dy: 0),
        ColouredBox(name: "blue", colour: 0x00_00FF, width: 340, height: 60, dx: 0, dy: 140),
        ColouredBox(name: "yellow", colour: 0xFF_FF00, width: 80, height: 140, dx: 380, dy: 60),
    ]

    /// The page's boxes, and its white background between them.
    static func pageProblems(_ shot: PNGImage) -> [String] {
        var problems = shot.problems(boxes: pageBoxes)
        if problems.isEmpty, let red = shot.boundingBox(of: 0xFF_0000)?.box {
            let between = shot.rgb(red.x + 220, red.y + 50)
            if between != 0xFF_FFFF { problems.append("page background between red and green is \(Colour.hex(between)), not white") }
        }
        return problems
    }

    static var pageURL: String { "file://\(fixtures)/boxes.html" }

    /// 5. Chromium on its Ozone Wayland backend, in kiosk mode (no browser chrome) with a
    /// throw-away profile; `--no-sandbox` only as root (Chromium refuses to run as root otherwise).
    @Test func chromium() throws {
        try Session.require("/usr/bin/chromium", package: "chromium")
        let s = try Session("chromium")
        var arguments = [
            "--ozone-platform=wayland", "--user-data-dir=\(s.directory("chromium-profile"))",
            "--no-first-run", "--no-default-browser-check", "--password-store=basic", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--kiosk", Self.pageURL,
        ]
        if geteuid() == 0 { arguments.insert("--no-sandbox", at: 0) }
        try s.launch("/usr/bin/chromium", arguments)
        try s.expectRunsAndDraws(appearWithin: 60, Self.pageProblems)
    }

    /// Firefox's first-run pages, update and network chatter turned off (the profile's user.js).
    static let firefoxPrefs = """
        user_pref("browser.shell.checkDefaultBrowser", false);
        user_pref("browser.startup.homepage_override.mstone", "ignore");
        user_pref("startup.homepage_welcome_url", "");
        user_pref("startup.homepage_welcome_url.additional", "");
        user_pref("browser.aboutwelcome.enabled", false);
        user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
        user_pref("datareporting.policy.dataSubmissionEnabled", false);
        user_pref("datareporting.healthreport.uploadEnabled", false);
        user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
        user_pref("browser.sessionstore.resume_from_crash", false);
        user_pref("browser.tabs.warnOnClose", false);
        user_pref("app.update.auto", false);
        user_pref("app.normandy.enabled", false);
        user_pref("extensions.update.enabled", false);
        user_pref("browser.safebrowsing.malware.enabled", false);
        user_pref("browser.safebrowsing.phishing.enabled", false);
        user_pref("network.captive-portal-service.enabled", false);
        user_pref("network.connectivity-service.enabled", false);

        """

    /// 6. Firefox ESR on Wayland, in kiosk mode with a throw-away profile (`--no-remote`: it
    /// never hands the page to another running Firefox).
    @Test func firefox() throws {
        try Session.require("/usr/bin/firefox-esr", package: "firefox-esr")
        let s = try Session("firefox-esr")
        let profile = s.directory("firefox-profile")
        try Self.firefoxPrefs.write(toFile: "\(profile)/user.js", atomically: true, encoding: .utf8)
        try s.launch("/usr/bin/firefox-esr", ["--no-remote", "--profile", profile, "--kiosk", Self.pageURL],
                     environment: ["MOZ_ENABLE_WAYLAND": "1"])
        try s.expectRunsAndDraws(appearWithin: 60, Self.pageProblems)
    }

    // MARK: Mesa software GL

    /// 7. weston-simple-egl (weston): a 250×250 window with 50 % transparent black around a
    /// triangle with red, green and blue corners turning about its vertical axis, drawn by Mesa's
    /// llvmpipe, whose Wayland platform hands the frames over as wl_shm buffers.
    @Test func westonSimpleEGL() throws {
        try Session.require("/usr/bin/weston-simple-egl", package: "weston")
        let s = try Session("weston-simple-egl")
        try s.launch("/usr/bin/weston-simple-egl", environment: ["LIBGL_ALWAYS_SOFTWARE": "1"])
        let window = Box(x: Session.firstWindow.x, y: Session.firstWindow.y, width: 250, height: 250)
        try s.expectRunsAndDraws(appearWithin: 30, animatedArea: window) { shot in
            var problems: [String] = []
            // The corners: the background darkened by the translucent black.
            for (x, y) in [(window.x + 2, window.y + 2), (window.maxX - 3, window.maxY - 3)] {
                let c = shot.rgb(x, y)
                let (r, g, b) = Colour.channels(c), (br, bg, bb) = Colour.channels(Session.background)
                if c == Session.background || r > br || g > bg || b > bb {
                    problems.append("window corner (\(x), \(y)) is \(Colour.hex(c)), not the darkened background")
                }
            }
            if shot.rgb(window.maxX + 4, window.y + 4) != Session.background { problems.append("background right of the window") }
            // The triangle, of mixed red, green and blue: it turns about its vertical axis, so
            // its height (about 120 pixels) stays and its area (up to about 7,800) varies.
            if let (triangle, coloured) = shot.boundingBox(in: window, where: { Colour.saturation($0) > 100 }) {
                if triangle.height < 100 || coloured < 1000 {
                    problems.append("the strongly coloured (triangle) pixels of \(window) are \(coloured) in \(triangle): \(shot.histogram(in: window))")
                }
            } else {
                problems.append("no strongly coloured (triangle) pixel in \(window): \(shot.histogram(in: window))")
            }
            return problems
        }
    }

    /// 8. glmark2-es2-wayland's `build` scene (a rotating horse, 800×600), with llvmpipe.
    @Test func glmark2() throws {
        try Session.require("/usr/bin/glmark2-es2-wayland", package: "glmark2-es2-wayland")
        let s = try Session("glmark2-es2-wayland")
        try s.launch("/usr/bin/glmark2-es2-wayland", ["-b", "build:duration=600"], environment: ["LIBGL_ALWAYS_SOFTWARE": "1"])
        let window = Box(x: Session.firstWindow.x, y: Session.firstWindow.y, width: 800, height: 600)
        try s.expectRunsAndDraws(appearWithin: 30, animatedArea: window) { shot in
            var problems: [String] = []
            let drawn = shot.count(in: window) { $0 != Session.background }
            if drawn < window.area * 9 / 10 { problems.append("\(drawn) of \(window.area) pixels of \(window) differ from the background") }
            // The shaded horse: many shades of grey-blue in the middle of the window.
            let middle = Box(x: window.x + 200, y: window.y + 150, width: 400, height: 300)
            var shades = Set<UInt32>()
            for y in stride(from: middle.y, to: middle.maxY, by: 2) { for x in stride(from: middle.x, to: middle.maxX, by: 2) { shades.insert(shot.rgb(x, y)) } }
            if shades.count < 32 { problems.append("\(shades.count) colours in \(middle): no shaded model (\(shot.histogram(in: middle)))") }
            if shot.rgb(window.maxX + 4, window.y + 4) != Session.background { problems.append("background right of the window") }
            if shot.rgb(window.x + 2, window.y + 2) != 0 { problems.append("the scene's corner is \(Colour.hex(shot.rgb(window.x + 2, window.y + 2))), not black") }
            return problems
        }
    }

    // MARK: Video

    /// A 320×240, 25 fps solid-colour clip made with ffmpeg (lavfi `color`, lossless FFV1 in
    /// Matroska, 4:2:0) in `dir`.
    static func makeClip(_ s: Session, colour: UInt32, seconds: Int = 2) throws -> String {
        try Session.require("/usr/bin/ffmpeg", package: "ffmpeg")
        let path = "\(s.directory("clip"))/clip.mkv"
        let r = try Child("/usr/bin/ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x\(Colour.hex(colour)):s=320x240:r=25:d=\(seconds)",
                                                "-c:v", "ffv1", "-pix_fmt", "yuv420p", path],
                          environment: [:], dir: s.compositor.runtime.path, tag: "ffmpeg").wait(timeout: 60)
        try #require(r.status == 0, "ffmpeg failed: \(r.stderr)")
        return path
    }

    /// The clip on screen: a solid 320×240 rectangle of its colour (within what the YUV round
    /// trip changes), at the first window's place (neither player decorates its window here).
    static func clipProblems(_ shot: PNGImage, colour: UInt32) -> [String] {
        guard let (box, count) = shot.boundingBox(of: colour, tolerance: 6) else {
            return ["no \(Colour.hex(colour)) pixel on screen: \(shot.histogram(in: shot.whole))"]
        }
        var problems: [String] = []
        let expected = Box(x: Session.firstWindow.x, y: Session.firstWindow.y, width: 320, height: 240)
        if box != expected { problems.append("the video is at \(box), expected \(expected)") }
        if count != box.area { problems.append("the video \(box) is not solid: \(count) of \(box.area) pixels are \(Colour.hex(colour))") }
        return problems
    }

    /// 9. mpv with its OpenGL renderer (`--vo=gpu`, Wayland EGL context, llvmpipe; `--gpu-sw`
    /// lets it accept a software renderer), looping the clip.
    @Test func mpv() throws {
        try Session.require("/usr/bin/mpv", package: "mpv")
        let s = try Session("mpv")
        let colour: UInt32 = 0x30_60C0
        let clip = try Self.makeClip(s, colour: colour)
        try s.launch("/usr/bin/mpv", ["--no-config", "--vo=gpu", "--gpu-context=wayland", "--gpu-sw", "--loop=inf", "--no-audio",
                                      "--really-quiet", clip],
                     environment: ["LIBGL_ALWAYS_SOFTWARE": "1"])
        try s.expectRunsAndDraws(appearWithin: 30) { Self.clipProblems($0, colour: colour) }
    }

    /// 10. An SDL2 program: ffplay (ffmpeg), on SDL's Wayland video driver, looping the clip.
    @Test func ffplaySDL2() throws {
        try Session.require("/usr/bin/ffplay", package: "ffmpeg")
        let s = try Session("ffplay")
        let colour: UInt32 = 0xC0_6030
        let clip = try Self.makeClip(s, colour: colour)
        try s.launch("/usr/bin/ffplay", ["-loglevel", "warning", "-nostats", "-an", "-loop", "0", clip],
                     environment: ["SDL_VIDEODRIVER": "wayland", "LIBGL_ALWAYS_SOFTWARE": "1"])
        try s.expectRunsAndDraws(appearWithin: 30) { Self.clipProblems($0, colour: colour) }
    }

    // MARK: Terminals

    /// A terminal's window: a large area of its background colour with light text in it.
    static func terminalProblems(_ shot: PNGImage, background: UInt32, minimum: (width: Int, height: Int)) -> [String] {
        guard let (box, _) = shot.boundingBox(of: background) else {
            return ["no \(Colour.hex(background)) (terminal background) pixel on screen: \(shot.histogram(in: shot.whole))"]
        }
        var problems: [String] = []
        if box.width < minimum.width || box.height < minimum.height {
            problems.append("the terminal background is \(box), expected at least \(minimum.width)x\(minimum.height)")
        }
        let text = shot.count(in: box) { c in let (r, g, b) = Colour.channels(c); return r > 0xC0 && g > 0xC0 && b > 0xC0 }
        if text < 40 { problems.append("\(text) light (text) pixels in the terminal \(box)") }
        return problems
    }

    /// 11. kitty: OpenGL 3.3 through llvmpipe, its own client-side title bar, a shell that prints
    /// a line and waits.
    @Test func kitty() throws {
        try Session.require("/usr/bin/kitty", package: "kitty")
        let s = try Session("kitty")
        let background: UInt32 = 0x20_50A0
        try s.launch("/usr/bin/kitty", ["--config", "NONE", "-o", "linux_display_server=wayland", "-o", "background=#\(Colour.hex(background))",
                                        "-o", "foreground=#ffffff", "-o", "enable_audio_bell=no", "-o", "update_check_interval=0",
                                        "/bin/sh", "-c", "echo hello from kitty on compositord; exec sleep 600"],
                     environment: ["LIBGL_ALWAYS_SOFTWARE": "1"])
        try s.expectRunsAndDraws(appearWithin: 30) { Self.terminalProblems($0, background: background, minimum: (400, 250)) }
    }

    /// foot (a wl_shm-only terminal, also in Debian 12), for comparison with kitty.
    @Test func foot() throws {
        try Session.require("/usr/bin/foot", package: "foot")
        let s = try Session("foot")
        let background: UInt32 = 0xA0_2050
        try s.launch("/usr/bin/foot", ["--config=/dev/null", "--override=colors.background=\(Colour.hex(background))",
                                       "--override=colors.foreground=ffffff",
                                       "/bin/sh", "-c", "echo hello from foot on compositord; exec sleep 600"])
        try s.expectRunsAndDraws(appearWithin: 30) { Self.terminalProblems($0, background: background, minimum: (400, 250)) }
    }

    // MARK: X11

    /// 12. Xwayland rootful (no `-rootless`: its root window is one Wayland toplevel the size of
    /// the output, black with `-br`; it picks a free display itself and writes its number to
    /// stdout, `-displayfd 1`), with an xterm inside.
    @Test func xwaylandRootfulWithXterm() throws {
        try Session.require("/usr/bin/Xwayland", package: "xwayland")
        try Session.require("/usr/bin/xterm", package: "xterm")
        let s = try Session("xwayland-xterm")
        let xwayland = try s.launch("/usr/bin/Xwayland", ["-displayfd", "1", "-br", "-noreset", "-nolisten", "tcp"])
        var display = ""
        let deadline = Date().addingTimeInterval(30)
        while display.isEmpty, xwayland.isRunning, Date() < deadline {
            display = xwayland.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if display.isEmpty { usleep(50_000) }
        }
        try #require(!display.isEmpty, "Xwayland did not announce its display: \(xwayland.stderr)")
        let background: UInt32 = 0x80_4000
        try s.launch("/usr/bin/xterm", ["-bg", "#\(Colour.hex(background))", "-fg", "white", "-geometry", "64x12+40+40",
                                        "-e", "/bin/sh", "-c", "echo hello from xterm on Xwayland on compositord; exec sleep 600"],
                     environment: ["DISPLAY": ":\(display)"])
        let root = Box(x: Session.firstWindow.x, y: Session.firstWindow.y,
                       width: Session.width - Session.firstWindow.x, height: Session.height - Session.firstWindow.y)
        try s.expectRunsAndDraws(appearWithin: 30) { shot in
            var problems = Self.terminalProblems(shot, background: background, minimum: (300, 100))
            // The root window: black wherever the xterm is not, the output's background around it.
            for (x, y) in [(root.x + 2, root.y + 2), (root.maxX - 3, root.maxY - 3), (root.x + 500, root.y + 500)] where shot.rgb(x, y) != 0 {
                problems.append("root window pixel (\(x), \(y)) is \(Colour.hex(shot.rgb(x, y))), not black")
            }
            if shot.rgb(root.x - 4, root.y + 4) != Session.background { problems.append("background left of the root window") }
            // X places the xterm's border at (40, 40) in the root window; its background starts
            // inside the border (1 px).
            if let xterm = shot.boundingBox(of: background)?.box, xterm.x != root.x + 41 || xterm.y != root.y + 41 {
                problems.append("the xterm's background starts at (\(xterm.x), \(xterm.y)), expected the root window's origin + (41, 41)")
            }
            return problems
        }
    }
}
