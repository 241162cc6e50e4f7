import Foundation
import Testing

@Suite struct ProtocolCodeTests {
    /// The committed wayland-scanner output must match protocol/*.xml.
    @Test func generatedCodeIsUpToDate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let rt = RuntimeDir()
        let r = try Child("/bin/bash", ["\(root)/protocol/generate.sh", "--check"], environment: [:], dir: rt.path, tag: "gen").wait(timeout: 60)
        #expect(r.status == 0, "stale generated code:\n\(r.stdout)\n\(r.stderr)")
    }
}
