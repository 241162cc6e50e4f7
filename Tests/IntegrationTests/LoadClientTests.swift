import Foundation
import Testing

/// scripts/bench's load client (docs/PERFORMANCE.md) must keep working: a one-second run against
/// compositord exits 0 with its summary line.
@Suite struct LoadClientTests {
    @Test func oneSecondRunPrintsFramesAndExits0() throws {
        let c = try CompositorProcess()
        let timestamps = "\(c.runtime.path)/load-client.ts"
        let r = try c.run("load-client", ["--duration", "1", "--timestamps", timestamps], timeout: 30)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("frames=") }
        let fields = Dictionary(
            (line ?? "").split(separator: " ").compactMap { field -> (String, String)? in
                let parts = field.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }, uniquingKeysWith: { first, _ in first })
        let frames = fields["frames"].flatMap { Int($0) } ?? 0
        #expect(frames > 0, "stdout: \(r.stdout)")
        #expect(fields["size"] == "250x250", "stdout: \(r.stdout)")
        // One timestamp per frame callback.
        let stamps = (try? String(contentsOfFile: timestamps, encoding: .utf8)) ?? ""
        #expect(stamps.split(separator: "\n").count == frames)
        #expect(c.isRunning)
    }
}
