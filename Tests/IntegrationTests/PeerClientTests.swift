import Foundation
import Testing

/// Clients nobody here wrote.
@Suite struct PeerClientTests {
    @Test func westonSimpleShmRuns3sWithoutProtocolError() throws {
        let path = "/usr/bin/weston-simple-shm"
        try #require(FileManager.default.fileExists(atPath: path), "install the weston package (scripts/test does)")
        let c = try CompositorProcess()
        let client = try c.start(path, tag: "simple-shm")
        sleep(3)
        #expect(client.isRunning, "weston-simple-shm exited early: \(client.stderr)")
        let shot = try c.screenshot()
        client.signal(SIGINT)
        let r = client.wait(timeout: 10)
        #expect(!r.timedOut)
        #expect(!r.stderr.lowercased().contains("error"), "stderr: \(r.stderr)")
        #expect(!c.log.contains("protocol error"), "log: \(c.log)")
        // Its 250×250 window is placed at (32, 32) and is not background.
        #expect(shot.rgb(32 + 125, 32 + 125) != DemoClientTests.background)
        #expect(shot.rgb(20, 20) == DemoClientTests.background)
        #expect(c.isRunning)
    }
}
