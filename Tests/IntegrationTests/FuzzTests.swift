import Foundation
import Testing

/// protocol-fuzz (docs/robustness/fuzzing.md) against the real compositord, with fixed seeds and a
/// fixed budget: well-typed random requests and raw bytes from several clients at once, while an
/// observer window must keep getting frames. No crash, no hang, every offending client
/// disconnected with an error, fds back at the baseline, and exit 0 on SIGTERM.
@Suite struct FuzzTests {
    /// The `key=value` fields of protocol-fuzz's summary line.
    private func summary(_ stdout: String) -> [String: String] {
        let line = stdout.split(separator: "\n").last { $0.hasPrefix("summary: ") } ?? ""
        return Dictionary(line.dropFirst("summary: ".count).split(separator: " ").compactMap { field in
            let parts = field.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { first, _ in first })
    }

    private func fuzz(seed: Int, iterations: Int, duration: Int, clients: Int = 4, extra: [String] = []) throws -> (ProcessResult, [String: String]) {
        let dir = RuntimeDir()
        // The fuzzer starts its own compositord (next to it in the products folder).
        let child = try Child(
            "\(productsDirectory)/protocol-fuzz",
            ["--seed", "\(seed)", "--iterations", "\(iterations)", "--duration", "\(duration)", "--clients", "\(clients)",
             "--artifacts", dir.path] + extra,
            environment: [:], dir: dir.path, tag: "protocol-fuzz")
        let result = child.wait(timeout: Double(duration) + 120)
        let artifacts = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasPrefix("protocol-fuzz-") }
            .map { (try? String(contentsOfFile: "\(dir.path)/\($0)", encoding: .utf8)) ?? "" }
        let output = result.stdout + "\n" + result.stderr + artifacts.map { "\n--- artifact ---\n" + $0.prefix(20000) }.joined()
        return (ProcessResult(status: result.status, stdout: result.stdout, stderr: output, timedOut: result.timedOut), summary(result.stdout))
    }

    private func expectHeld(_ r: ProcessResult, _ s: [String: String], observerFrames: Int = 10) {
        #expect(!r.timedOut, "protocol-fuzz did not finish:\n\(r.stderr)")
        #expect(r.status == 0, "protocol-fuzz reported failures:\n\(r.stderr)")
        #expect(s["result"] == "PASS", "\(r.stderr)")
        for key in ["crashes", "hangs", "fd_leaks", "sanitizer_reports", "bad_exits"] {
            #expect(s[key] == "0", "\(key)=\(s[key] ?? "missing")\n\(r.stderr)")
        }
        // The baseline was measured (compositord has its socket, event loop, output... open).
        #expect(Int(s["fd_baseline"] ?? "") ?? 0 > 5, "\(r.stdout)")
        #expect(s["fd_end"] == s["fd_baseline"], "\(r.stdout)")
        #expect(Int(s["observer_frames"] ?? "") ?? 0 > observerFrames, "the observer must have kept drawing:\n\(r.stdout)")
    }

    /// Default policy: well-typed sessions get protocol errors on many interfaces, raw sessions
    /// get errors or hang-ups, and some sessions survive to the end.
    @Test func defaultPolicyHolds() throws {
        let (r, s) = try fuzz(seed: 1, iterations: 1500, duration: 30)
        expectHeld(r, s)
        #expect(Int(s["sessions"] ?? "") ?? 0 >= 100, "\(r.stdout)")
        #expect(Int(s["error_interfaces"] ?? "") ?? 0 >= 8, "errors must cover many interfaces:\n\(r.stdout)")
        #expect(Int(s["error_kinds"] ?? "") ?? 0 >= 15, "\(r.stdout)")
        #expect(Int(s["typed_errors"] ?? "") ?? 0 > 0, "\(r.stdout)")
        // Garbage is met with an error (or, when even the header is unreadable, a hang-up).
        #expect(Int(s["raw_errors"] ?? "") ?? 0 > 0, "\(r.stdout)")
        #expect(Int(s["typed_alive"] ?? "") ?? 0 > 0, "some sessions must survive and answer wl_display.sync:\n\(r.stdout)")
    }

    /// The permissive policy (unsealed pools read under the SIGBUS guard, truncated while in use)
    /// with a frame composited on every commit (seed 1 runs the default on-demand compositing,
    /// where such pools meet the latch check instead of a read).
    @Test func guardPolicyWithEveryCommitComposited() throws {
        let (r, s) = try fuzz(seed: 2, iterations: 800, duration: 20,
                              extra: ["--compositord-arg=--seal-policy=guard", "--compositord-arg=--refresh=0",
                                      "--compositord-arg=--composite=every-frame"])
        expectHeld(r, s)
        #expect(Int(s["sessions"] ?? "") ?? 0 >= 50, "\(r.stdout)")
        #expect(Int(s["error_interfaces"] ?? "") ?? 0 >= 5, "\(r.stdout)")
    }

    /// Three outputs, one scaled and rotated at 10 Hz: every wl_output, xdg-output and capture
    /// request may name any of them (issue 19, item 1).
    @Test func severalOutputsHold() throws {
        let (r, s) = try fuzz(seed: 4, iterations: 600, duration: 15,
                              extra: ["--compositord-arg=--output=640x480", "--compositord-arg=--output=320x240@10,scale=2,transform=90",
                                      "--compositord-arg=--output=200x100@0,position=0x600"])
        expectHeld(r, s)
        #expect(Int(s["sessions"] ?? "") ?? 0 >= 50, "\(r.stdout)")
    }

    /// Sessions that once crashed compositord, replayed alone from their seed (the unit tests
    /// next to each fix keep guarding it if the fuzzer's generator changes and a seed drifts).
    @Test(arguments: [
        // wl_surface.damage_buffer(1, 6, INT32_MAX, 74) at buffer scale 3: Int32 overflow in the
        // buffer-to-surface damage conversion (DamageOverflowTests).
        (seed: 103, session: 42029, extra: ["--compositord-arg=--seal-policy=strict"]),
    ])
    func replaysTheSessionsThatFoundBugs(_ replay: (seed: Int, session: Int, extra: [String])) throws {
        let (r, s) = try fuzz(seed: replay.seed, iterations: 1, duration: 60, clients: 1,
                              extra: ["--first-session", "\(replay.session)"] + replay.extra)
        expectHeld(r, s, observerFrames: 2)  // the fuzzer waits for 3 before the session starts
        #expect(s["sessions"] == "1", "\(r.stdout)")
    }
}
