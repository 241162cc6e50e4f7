import Foundation
import Testing

@Suite struct CommandLineTests {
    @Test func withoutHeadlessItExits2() throws {
        let rt = RuntimeDir()
        let r = try Child("\(productsDirectory)/compositord", [], environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: "c").wait(timeout: 10)
        #expect(r.status == 2)
        #expect(r.stderr.contains("only the headless backend exists"))
    }

    @Test func missingRuntimeDirExits1() throws {
        let rt = RuntimeDir()
        let unset = try Child("/usr/bin/env", ["-u", "XDG_RUNTIME_DIR", "\(productsDirectory)/compositord", "--headless"],
                              environment: [:], dir: rt.path, tag: "unset").wait(timeout: 10)
        #expect(unset.status == 1)
        #expect(unset.stderr.contains("XDG_RUNTIME_DIR is not set"))
        let bogus = try Child("\(productsDirectory)/compositord", ["--headless"],
                              environment: ["XDG_RUNTIME_DIR": "\(rt.path)/missing"], dir: rt.path, tag: "bogus").wait(timeout: 10)
        #expect(bogus.status == 1)
        #expect(bogus.stderr.contains("is unusable"))
    }

    @Test func helpDocumentsEveryFlag() throws {
        let rt = RuntimeDir()
        let r = try Child("\(productsDirectory)/compositord", ["--help"], environment: [:], dir: rt.path, tag: "help").wait(timeout: 10)
        #expect(r.status == 0)
        for flag in ["--headless", "--socket", "--width", "--height", "--refresh", "--screenshot"] {
            #expect(r.stdout.contains(flag), "--help lacks \(flag)")
        }
    }

    @Test func namedSocketAndCleanSigterm() throws {
        let c = try CompositorProcess(["--socket", "test-sock"])
        #expect(c.socketName == "test-sock")
        let socket = "\(c.runtime.path)/test-sock"
        #expect(FileManager.default.fileExists(atPath: socket))
        #expect(FileManager.default.fileExists(atPath: socket + ".lock"))
        let r = c.terminate()
        #expect(r.status == 0)
        #expect(!r.timedOut)
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(!FileManager.default.fileExists(atPath: socket + ".lock"))
    }

    @Test func secondInstancePicksTheNextFreeName() throws {
        let a = try CompositorProcess()
        #expect(a.socketName == "wayland-0")
        let b = try Child("\(productsDirectory)/compositord", ["--headless"],
                          environment: ["XDG_RUNTIME_DIR": a.runtime.path], dir: a.runtime.path, tag: "second")
        defer { b.signal(SIGKILL); b.wait(timeout: 5) }
        let deadline = Date().addingTimeInterval(10)
        while !b.stdout.contains("WAYLAND_DISPLAY="), Date() < deadline { usleep(10_000) }
        #expect(b.stdout == "WAYLAND_DISPLAY=wayland-1\n")
    }
}
