import Foundation
import Glibc
import PNG
import Testing

/// `compositord run [flags] -- COMMAND` (issue 20, item 3): an xvfb-run for Wayland.
@Suite struct RunCommandTests {
    let compositord = "\(productsDirectory)/compositord"

    func run(_ arguments: [String], _ rt: RuntimeDir, tag: String, timeout: Double = 60) throws -> ProcessResult {
        try Child(compositord, ["run"] + arguments, environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: tag).wait(timeout: timeout)
    }

    /// `compositord run -- sh -c SCRIPT`, started; returns once SCRIPT printed "ready".
    func started(_ script: String, _ rt: RuntimeDir, tag: String) throws -> Child {
        let child = try Child(compositord, ["run", "--", "sh", "-c", script], environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: tag)
        let deadline = Date().addingTimeInterval(30)
        while !child.stdout.contains("ready"), Date() < deadline { usleep(20_000) }
        return child
    }

    /// Nothing of a run is left in the runtime directory: no private directory, no socket.
    func leftovers(_ rt: RuntimeDir) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: rt.path)) ?? []).filter { $0.hasPrefix("compositord-run-") || $0.hasPrefix("wayland-") }
    }

    @Test func exitsWithTheCommandsStatusAndCleansUp() throws {
        let rt = RuntimeDir()
        let r = try run(["--", "sh", "-c", "echo \"display=$WAYLAND_DISPLAY runtime=$XDG_RUNTIME_DIR\"; exit 7"], rt, tag: "exit7")
        #expect(r.status == 7, "\(r.stderr)")
        // The socket is in a private directory; XDG_RUNTIME_DIR is left as it was.
        #expect(r.stdout.contains("display=\(rt.path)/compositord-run-") && r.stdout.contains("/wayland-"), "\(r.stdout)")
        #expect(r.stdout.contains("runtime=\(rt.path)\n"), "\(r.stdout)")
        #expect(r.stderr.isEmpty, "a run that went well says nothing: \(r.stderr)")
        #expect(leftovers(rt).isEmpty, "\(leftovers(rt))")
    }

    /// A real client draws; --screenshot (a compositord flag) writes the output as it is when
    /// COMMAND ends: here with the window of a client the script left running.
    @Test func aClientRunsAndTheFinalScreenshotShowsIt() throws {
        let rt = RuntimeDir()
        let shot = "\(rt.path)/final.png"
        let demo = "\(productsDirectory)/demo-client"
        let r = try run(["--width", "640", "--height", "480", "--screenshot", shot, "--", "sh", "-c",
                         "\(demo) --frames 10 && { \(demo) --frames 100000 >/dev/null 2>&1 & sleep 2; }"], rt, tag: "demo")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("frames: 10"), "\(r.stdout)")
        let image = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: shot))))
        #expect(image.width == 640 && image.height == 480)
        #expect(image.rgb(96, 96) == 0xFF0000 && image.rgb(224, 224) == 0xFFFF00, "the window is in the final frame")
        #expect(leftovers(rt).isEmpty, "\(leftovers(rt))")
    }

    /// 127: not found, 125: the compositor did not start (its own error shown), 2: no command.
    @Test func failuresSayWhy() throws {
        let rt = RuntimeDir()
        let missing = try run(["--", "no-such-command-here"], rt, tag: "missing")
        #expect(missing.status == 127 && missing.stderr.contains("no-such-command-here: No such file or directory"), "\(missing.stderr)")
        let bad = try run(["--no-such-flag", "--", "true"], rt, tag: "bad")
        #expect(bad.status == 125, "\(bad.stderr)")
        #expect(bad.stderr.contains("the compositor did not start") && bad.stderr.contains("Unknown option '--no-such-flag'"), "\(bad.stderr)")
        let none = try run([], rt, tag: "none")
        #expect(none.status == 2 && none.stderr.contains("usage: compositord run"), "\(none.stderr)")
        #expect(leftovers(rt).isEmpty, "\(leftovers(rt))")
    }

    /// SIGTERM to the runner goes to COMMAND, whose status is the runner's.
    @Test func signalsAreForwardedToTheCommand() throws {
        let rt = RuntimeDir()
        let child = try started("trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done", rt, tag: "trap")
        child.signal(SIGTERM)
        let r = child.wait(timeout: 30)
        #expect(r.status == 42, "\(r.stderr)")
        #expect(leftovers(rt).isEmpty, "\(leftovers(rt))")
    }

    /// The compositor killed under a running COMMAND: the runner says so, stops COMMAND, exits 125.
    @Test func aCompositorThatDiesIsReported() throws {
        let rt = RuntimeDir()
        let child = try started("echo ready; while :; do sleep 0.05; done", rt, tag: "dies")
        let children = (try? String(contentsOfFile: "/proc/\(child.pid)/task/\(child.pid)/children", encoding: .utf8)) ?? ""
        let compositor = children.split(separator: " ").compactMap { pid_t($0) }.first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("compositord") == true
        }
        let pid = try #require(compositor, "no compositord among the runner's children: \(children)")
        kill(pid, SIGKILL)
        let r = child.wait(timeout: 30)
        #expect(r.status == 125, "\(r.stderr)")
        #expect(r.stderr.contains("the compositor exited (signal 9) while COMMAND ran"), "\(r.stderr)")
    }
}
