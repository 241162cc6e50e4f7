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
        for flag in ["--headless", "--socket", "--width", "--height", "--refresh", "--screenshot", "--seal-policy", "--composite", "--stats", "--output-device", "--capture"] {
            #expect(r.stdout.contains(flag), "--help lacks \(flag)")
        }
    }

    /// No DRM or dma-buf device on the host: the chain ends at the sealed memfd, says why, and
    /// prints the documented line.
    @Test func outputBackendFallsBackToMemfdOnTheHost() throws {
        try #require(!FileManager.default.fileExists(atPath: "/dev/udmabuf"), "this host has dma-buf devices")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let lines = c.child.stdout.split(separator: "\n")
        #expect(lines.first == "output: memfd - 640x480 XRGB8888", "\(lines)")
        #expect(lines.filter { $0.hasPrefix("WAYLAND_DISPLAY=") }.count == 1)
        #expect(c.log.contains("output backend skipped: udmabuf /dev/udmabuf"))
        #expect(c.log.contains("output backend skipped: dma-heap /dev/dma_heap/system"))
        #expect(c.log.contains("NOT a dma-buf"))
        let rt = RuntimeDir()
        let insist = try Child("\(productsDirectory)/compositord", ["--headless", "--output-device", "/dev/dri/card0"],
                               environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: "insist").wait(timeout: 10)
        #expect(insist.status == 1)
        #expect(insist.stderr.contains("--output-device /dev/dri/card0: cannot open"), "\(insist.stderr)")
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
        #expect(b.stdout.split(separator: "\n").filter { $0.hasPrefix("WAYLAND_DISPLAY=") } == ["WAYLAND_DISPLAY=wayland-1"])
    }
}
