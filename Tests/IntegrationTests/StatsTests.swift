import Foundation
import Testing

@Suite struct StatsTests {
    @Test func statsJSONCountsPoolsPerClassAndIsSummarisedAtExit() throws {
        let statsPath = RuntimeDir()
        let path = "\(statsPath.path)/stats.json"
        let c = try CompositorProcess(["--stats", path])
        #expect(try c.run("demo-client", ["--frames", "3"], timeout: 20).status == 0)
        #expect(try c.run("demo-client", ["--frames", "3"], timeout: 20).status == 0)
        let r = c.terminate()
        #expect(r.status == 0)
        let data = try #require(FileManager.default.contents(atPath: path))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["seal_policy"] as? String == "enforce")
        let clients = try #require(json["clients"] as? [[String: Any]])
        #expect(clients.count == 2)
        for client in clients {
            #expect((client["pools_accepted"] as? [String: Int])?["sealed-memfd"] == 1)
            #expect((client["refusals"] as? [String: Int])?.isEmpty == true)
            #expect(client["sigbus_faults"] as? Int == 0 && client["shrunk_at_latch"] as? Int == 0)
            #expect(client["held_commits"] as? Int == 0 && client["fence_deadlines_missed"] as? Int == 0, "\(client)")
            #expect(client["protocol_errors"] as? Int == 0)
            #expect((client["pid"] as? Int ?? 0) > 0)
        }
        let totals = try #require(json["totals"] as? [String: Any])
        #expect((totals["pools_accepted"] as? [String: Int])?["sealed-memfd"] == 2)
        #expect(r.stderr.contains("seal policy enforce: clients=2 pools-accepted=sealed-memfd=2 refusals=none sigbus-faults=0 shrunk-at-latch=0 protocol-errors=0"),
                "log: \(r.stderr)")
    }

    @Test func unknownSealPolicyIsAUsageError() throws {
        let rt = RuntimeDir()
        let r = try Child("\(productsDirectory)/compositord", ["--headless", "--seal-policy", "lax"],
                          environment: ["XDG_RUNTIME_DIR": rt.path], dir: rt.path, tag: "bad").wait(timeout: 10)
        #expect(r.status == 64)
        #expect(r.stderr.contains("--seal-policy must be enforce, strict or guard"))
    }
}
