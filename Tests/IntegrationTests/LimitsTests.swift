import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// Per-client limits (issue 16, item 6): `--max-client-memory` and `--max-client-buffers`
/// against the real binary (docs/robustness/hygiene.md, "Per-client limits").
@Suite struct LimitsTests {
    /// compositord's VmSize in kB: what it has mapped, client pools included.
    static func vmSize(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmSize:") }
        return line.flatMap { Int($0.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) } ?? -1
    }

    static func waitFor(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// The observer's band (rows [128, 192) of its window at (32, 32)) moves between two screenshots.
    static func observerAnimates(_ c: CompositorProcess) throws -> Bool {
        let a = try c.screenshot()
        usleep(60_000)
        let b = try c.screenshot { shot in (32..<288).contains { shot.rgb($0, 160) != a.rgb($0, 160) } }
        return (32..<288).contains { a.rgb($0, 160) != b.rgb($0, 160) } && b.rgb(96, 96) == 0xFF0000
    }

    /// `oversized` under the default cap: 64 pools of 1 GiB are mapped, the 65th is refused with
    /// wl_display no_memory and the reason; the offender is gone, an observer keeps rendering,
    /// and compositord's fds and address space return to where they were.
    @Test func theDefaultCapRefusesThe65thGibibytePool() throws {
        let dir = RuntimeDir()
        let statsPath = "\(dir.path)/stats.json"
        let c = try CompositorProcess(["--stats", statsPath, "--width", "640", "--height", "480"])
        #expect(c.log.contains("max-client-buffers=4096 max-client-memory=68719476736 (64 GiB)"), "\(c.log)")
        let observer = try c.start("demo-client", tag: "observer")
        defer { observer.signal(SIGKILL); observer.wait(timeout: 5) }
        _ = try c.screenshot { $0.rgb(96, 96) == 0xFF0000 }
        let fds = ProcStat.fdCount(c.child.pid)
        let mapped = Self.vmSize(c.child.pid)

        let r = try c.run("demo-client", ["--misbehave", "oversized"], timeout: 30, tag: "oversized")
        print("limits: \(r.stdout.split(separator: "\n").last ?? "") / \(r.stderr.split(separator: "\n").first ?? "")")
        #expect(r.status == 3, "exit \(r.status): \(r.stderr)")
        #expect(r.stdout.contains("misbehave oversized: pool 65 was refused, with 64 pools (68719476736 bytes) accepted before it"), "\(r.stdout)")
                #expect(r.stderr.contains("protocol error: wl_display@1 code 2: maps 68719476736 bytes; a new pool of 1073741824 bytes would pass --max-client-memory 68719476736 (64 GiB)\n"), "\(r.stderr)")
        #expect(c.isRunning)
        #expect(Self.waitFor { ProcStat.fdCount(c.child.pid) == fds }, "fds \(ProcStat.fdCount(c.child.pid)), at start \(fds)")
        // The 64 GiB of mappings are gone (a few MiB of heap may come and go).
        #expect(Self.waitFor { Self.vmSize(c.child.pid) < mapped + 64 * 1024 }, "VmSize \(Self.vmSize(c.child.pid)) kB, at start \(mapped) kB")
        #expect(try Self.observerAnimates(c), "the observer froze")
        #expect(c.log.contains("client limit reached") && c.log.contains("rule=client-memory-limit"), "\(c.log.suffix(2000))")

        // Another client maps its pools as usual.
        let other = try c.run("demo-client", ["--frames", "10"], timeout: 30, tag: "after")
        #expect(other.status == 0, "\(other.stderr)")

        observer.signal(SIGINT)
        #expect(observer.wait(timeout: 10).status == 0)
        #expect(c.terminate().status == 0)
        let data = try #require(FileManager.default.contents(atPath: statsPath))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let totals = try #require(json["totals"] as? [String: Any])
        #expect((totals["refusals"] as? [String: Int])?["client-memory-limit"] == 1, "\(totals)")
        #expect(totals["peak_mapped_bytes"] as? Int == 64 << 30, "\(totals)")
        #expect(c.log.contains("peak-mapped-bytes=68719476736"), "\(c.log.suffix(1000))")
    }

    /// The flags move the caps: a 256x256 demo-client (a 512 KiB pool, two buffers) fails under
    /// 256K and runs under 1M; it fails under --max-client-buffers 2 (its pool and two buffers
    /// make 3) and runs under 3.
    @Test func flagsChangeTheCaps() throws {
        for (flags, fails, message) in [
            (["--max-client-memory", "256K"], true, "maps 0 bytes; a new pool of 524288 bytes would pass --max-client-memory 262144 (256 KiB)"),
            (["--max-client-memory", "1M"], false, ""),
            (["--max-client-buffers", "2"], true, "holds 2 pools and buffers, the limit is 2 (--max-client-buffers)"),
            (["--max-client-buffers", "3"], false, ""),
        ] {
            let c = try CompositorProcess(flags + ["--width", "640", "--height", "480"])
            let r = try c.run("demo-client", ["--frames", "10"], timeout: 30, tag: flags.joined())
            if fails {
                #expect(r.status == 3, "\(flags): exit \(r.status)")
                #expect(r.stderr.contains("protocol error: wl_display@1 code 2: ") && r.stderr.contains(message), "\(flags): \(r.stderr)")
            } else {
                #expect(r.status == 0 && r.stdout.contains("frames: 10"), "\(flags): \(r.stdout) \(r.stderr)")
            }
            #expect(c.terminate().status == 0)
        }
        // Values that are not sizes are refused at start.
        for bad in [["--max-client-memory", "0"], ["--max-client-memory", "lots"], ["--max-client-buffers", "0"]] {
            let c = try Child("\(productsDirectory)/compositord", ["--headless"] + bad, environment: [:], dir: "/", tag: "bad-flag")
            let r = c.wait(timeout: 10)
            #expect(r.status != 0 && r.stderr.contains(bad[0]), "\(bad): \(r.status) \(r.stderr)")
        }
    }

    /// What a client holds is given back when it goes: a destroyed pool's bytes (no buffer
    /// keeps it), a destroyed wl_buffer's slot; a resize past the cap is refused before the pool
    /// is remapped.
    @Test func releasedPoolsAndBuffersMakeRoomAndAResizePastTheCapIsRefused() throws {
        let c = try CompositorProcess(["--max-client-memory", "512K", "--max-client-buffers", "4", "--width", "320", "--height", "240"])
        let fds = ProcStat.fdCount(c.child.pid)
        let raw = RawWaylandClient.registry(at: "\(c.runtime.path)/\(c.socketName)")
        let shm = raw.bind(name: try #require(raw.globalName("wl_shm")), interface: "wl_shm", version: 1)
        let file = sealedMemfd(size: 1 << 20)
        defer { close(file) }
        func createPool(_ size: UInt32) -> UInt32 {
            let id = raw.newID()
            _ = raw.send(RawWaylandClient.message(object: shm, opcode: 0, [id, size]), fds: [file])  // create_pool(id, fd, size)
            return id
        }
        func createBuffer(_ pool: UInt32) -> UInt32 {
            let id = raw.newID()
            // create_buffer(id, offset, width, height, stride, format XRGB8888)
            _ = raw.send(RawWaylandClient.message(object: pool, opcode: 0, [id, 0, 16, 16, 64, 1]))
            return id
        }

        // Bytes: 300 KiB twice fits only when the first pool is gone.
        let first = createPool(300 << 10)
        _ = raw.send(RawWaylandClient.message(object: first, opcode: 1, []))  // wl_shm_pool.destroy: no buffer keeps it
        let pool = createPool(300 << 10)
        #expect(raw.roundtrip() && raw.displayError == nil, "\(String(describing: raw.displayError))")
        // Objects: the pool and three buffers make 4; a destroyed buffer makes room for another.
        let buffers = (0..<3).map { _ in createBuffer(pool) }
        _ = raw.send(RawWaylandClient.message(object: buffers[0], opcode: 0, []))  // wl_buffer.destroy
        _ = createBuffer(pool)
        #expect(raw.roundtrip() && raw.displayError == nil, "\(String(describing: raw.displayError))")
        // Growing within the cap works; past it, no_memory before anything is remapped.
        _ = raw.send(RawWaylandClient.message(object: pool, opcode: 2, [400 << 10]))  // resize
        #expect(raw.roundtrip() && raw.displayError == nil, "\(String(describing: raw.displayError))")
        _ = raw.send(RawWaylandClient.message(object: pool, opcode: 2, [1 << 20]))
        raw.read(timeout: 10) { $0.hungUp }
        print("limits: resize past the cap: \(String(describing: raw.displayError))")
        #expect(raw.displayError?.objectID == 1 && raw.displayError?.code == 2, "\(String(describing: raw.displayError))")
        #expect(raw.displayError?.message.contains("maps 409600 bytes; a resize of 638976 bytes would pass --max-client-memory 524288 (512 KiB)") == true,
                "\(String(describing: raw.displayError))")
        #expect(raw.hungUp)
        #expect(Self.waitFor { ProcStat.fdCount(c.child.pid) == fds }, "fds \(ProcStat.fdCount(c.child.pid)), at start \(fds)")

        // The object cap: a fifth object is refused.
        let second = RawWaylandClient.registry(at: "\(c.runtime.path)/\(c.socketName)")
        let shm2 = second.bind(name: try #require(second.globalName("wl_shm")), interface: "wl_shm", version: 1)
        let pool2 = second.newID()
        _ = second.send(RawWaylandClient.message(object: shm2, opcode: 0, [pool2, 4096]), fds: [file])
        for _ in 0..<4 {
            _ = second.send(RawWaylandClient.message(object: pool2, opcode: 0, [second.newID(), 0, 16, 16, 64, 1]))
        }
        second.read(timeout: 10) { $0.hungUp }
        #expect(second.displayError?.code == 2 && second.displayError?.message.contains("holds 4 pools and buffers, the limit is 4 (--max-client-buffers): destroy the ones it no longer uses") == true,
                "\(String(describing: second.displayError))")
        #expect(c.log.contains("rule=client-buffer-limit"))
        #expect(Self.waitFor { ProcStat.fdCount(c.child.pid) == fds })
        #expect(c.terminate().status == 0)
    }
}
