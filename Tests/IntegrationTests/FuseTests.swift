import Foundation
import Glibc
import Testing
import WaylandTestSupport

/// Issue 15, item 3: a pool on a file whose page faults can wait on another process is refused
/// under `enforce` and `strict`, and judging it never calls into its file system. Proven with a
/// real FUSE file system whose daemon (Fixtures/stalling_fuse.py) never answers anyone but the
/// client that opened its file: any GETATTR, STATFS, READ... from compositord would freeze it.
///
/// The FUSE fd never enters this test process: every close(2) of it sends FLUSH to the daemon,
/// including the close-on-exec in every child the runner spawns while it holds the fd. A raw
/// Wayland client in Python (Fixtures/fuse_pool_client.py) opens the file and sends it.
///
/// Teardown order matters: a process waiting on the daemon cannot even be killed (FUSE waits out
/// a request the daemon has read in D state), so the daemon is always stopped (it answers every
/// stalled request, detaches the mount and exits) before anything else is killed.
@Suite struct FuseTests {
    /// The client's pool file: 64 KiB, enough for a 64×64 XRGB8888 buffer.
    static let poolSize = 65536

    @Test(arguments: ["enforce", "strict"])
    func poolOnFuseIsRefusedWithoutCallingIntoIt(policy: String) throws {
        let attack = try FuseAttack(answerFlush: true, ["--seal-policy", policy])  // only the close's FLUSH is answered
        let (fuse, c) = (attack.fuse, attack.compositor)
        let observer = try c.start("demo-client", tag: "observer")
        var prober: [Child] = []
        defer {
            attack.stop()  // first: answers whatever is stalled, so the rest can be killed
            for p in prober { p.wait(timeout: 5) }
            observer.signal(SIGKILL)
            observer.wait(timeout: 5)
        }
        _ = try c.screenshot { $0.rgb(96, 96) == 0xFF0000 }  // the observer's window is up

        // The client offers the FUSE file as a pool; the refusal must come at once.
        let hostile = try attack.startClient(["--size", "\(Self.poolSize)", "--timeout", "5", "--linger", "60"])
        let out = waitForLine(hostile, containing: "lingering", timeout: 8)
        #expect(out.contains("opened \(fuse.file)"), "\(out)\n\(hostile.stderr)")
        let error = try #require(out.split(separator: "\n").first { $0.hasPrefix("error ") },
                                 "no protocol error within 5 s: \(out)\(hostile.stderr)\ncompositord waits in \(wchan(c.child.pid)) after asking the FUSE daemon \(fuse.requests(from: c.child.pid))\n\(kernelStack(c.child.pid))")
        #expect(error.hasPrefix("error wl_shm@") && error.contains(" code 2: "), "\(error)")  // invalid_fd
        #expect(error.contains("the pool fd is a file on fuse, not shared memory"), "\(error)")
        #expect(error.contains("send a memfd sealed with F_SEAL_SHRINK after "), "\(error)")  // and what to send instead, whole
        if let ms = error.split(separator: " ").dropLast().last.flatMap({ Int($0) }) {
            #expect(ms < 5000, "the refusal took \(ms) ms")
        }
        #expect(c.log.contains("not-shared-memory") || c.log.contains("not shared memory"), "\(c.log)")

        // compositord asked its file system for nothing: no GETATTR, STATFS, READ, LOOKUP...
        // Its only request is the FLUSH that close(2) of the refused fd sends.
        let asked = fuse.requests(from: c.child.pid)
        #expect(asked.allSatisfy { $0.hasPrefix("FLUSH ") }, "compositord called into the FUSE file system: \(asked)\n\(fuse.log)")

        // The daemon really does stall whoever else asks: fstat and fstatfs of the client's fd,
        // from other processes, hang (they finish once the daemon is stopped at the end).
        let fdLine = try #require(out.split(separator: "\n").first { $0.hasPrefix("opened ") })
        let words = fdLine.split(separator: " ")
        let procPath = "/proc/\(words[5])/fd/\(words[3])"
        for (tag, flags) in [("fstat", ["-L", "-c", "%s"]), ("fstatfs", ["-f", "-L", "-c", "%T"])] {
            prober.append(try c.start("/usr/bin/stat", flags + [procPath], tag: tag))
        }

        // compositord stays responsive while the daemon holds those: screenshots, a window that
        // keeps animating, a new client that renders its 30 frames, and a clean exit.
        let bandRow = 160
        let a = try c.screenshot()
        usleep(60_000)
        let b = try c.screenshot { shot in (32..<288).contains { shot.rgb($0, bandRow) != a.rgb($0, bandRow) } }
        #expect((32..<288).contains { a.rgb($0, bandRow) != b.rgb($0, bandRow) }, "the observer froze")
        let r = try c.run("demo-client", ["--frames", "30"], timeout: 10, tag: "frames")
        #expect(r.status == 0 && r.stdout.contains("frames: 30"), "demo-client --frames 30: \(r.status) \(r.stdout) \(r.stderr)")
        for p in prober { #expect(p.isRunning, "stat \(procPath) returned while the daemon stalls: \(p.stdout) \(p.stderr)") }
        let log = fuse.log
        #expect(log.contains("GETATTR pid=\(prober[0].pid) ") && log.contains("STATFS pid=\(prober[1].pid) "), "\(log)")

        observer.signal(SIGINT)
        #expect(observer.wait(timeout: 5).status == 0, "observer: \(observer.stderr)")
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
        #expect(fuse.requests(from: c.child.pid).allSatisfy { $0.hasPrefix("FLUSH ") }, "\(fuse.log)")

        // Once released, the stalled calls complete: they were waiting on the daemon, nothing else.
        fuse.stop()
        let sizes = prober.map { $0.wait(timeout: 5).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(sizes == ["\(Self.poolSize)", "fuseblk"] || sizes == ["\(Self.poolSize)", "fuse"], "\(sizes)")
    }

    /// The same file offered as a dma-buf plane (`zwp_linux_buffer_params_v1.add`, then
    /// `create_immed`): the bounds check's lseek(SEEK_END) would be a GETATTR, the import's fstatfs
    /// a STATFS. It is not a dma-buf, and compositord finds that out from /proc alone.
    @Test func dmabufPlaneOnFuseIsRefusedWithoutCallingIntoIt() throws {
        let attack = try FuseAttack(answerFlush: false)
        let (fuse, c) = (attack.fuse, attack.compositor)
        defer { attack.stop() }
        let hostile = try attack.startClient(["--mode", "dmabuf-plane", "--timeout", "5", "--linger", "60"])
        let out = waitForLine(hostile, containing: "lingering", timeout: 8)
        let error = try #require(out.split(separator: "\n").first { $0.hasPrefix("error ") },
                                 "no protocol error within 5 s: \(out)\ncompositord waits in \(wchan(c.child.pid)) after asking \(fuse.requests(from: c.child.pid))")
        #expect(error.hasPrefix("error zwp_linux_buffer_params_v1@") && error.contains(" code 7: "), "\(error)")  // invalid_wl_buffer
        #expect(error.contains("the plane fd is a file on fuse, not a dma-buf"), "\(error)")
        // Nothing asked of the daemon but the FLUSH of the close, and that not by the main thread.
        let asked = fuse.requests(from: c.child.pid)
        #expect(asked.allSatisfy { $0.hasPrefix("FLUSH ") && !$0.contains(" tid=\(c.child.pid) ") }, "\(asked)\n\(fuse.log)")
        #expect(screenshotArrives(c, within: 2), "compositord is frozen in \(wchan(c.child.pid))")
        fuse.release()
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// close(2) of the refused fd sends FUSE_FLUSH and waits for the answer, uninterruptibly. Done
    /// on the main thread, the daemon of the client's own file system froze the whole compositor
    /// (no refusal, no screenshots, no SIGTERM; after SIGKILL, state D) for as long as it liked.
    /// compositord closes such fds on a background queue (ReceivedFd): the FLUSH still waits, but
    /// not on the main thread.
    @Test func closeOfARefusedFusePoolDoesNotFreezeCompositord() throws {
        let attack = try FuseAttack(answerFlush: false)
        let (fuse, c) = (attack.fuse, attack.compositor)
        defer { attack.stop() }
        let observer = try c.start("demo-client", tag: "observer")
        defer { observer.signal(SIGKILL); observer.wait(timeout: 5) }
        let hostile = try attack.startClient(["--size", "\(Self.poolSize)", "--timeout", "2", "--linger", "60"])
        let out = waitForLine(hostile, containing: "lingering", timeout: 5)
        #expect(out.contains("error wl_shm@") && out.contains("not shared memory"), "no refusal within 2 s: \(out)")
        // The close did reach the daemon (so this test exercises the stall) from another thread.
        let deadline = Date().addingTimeInterval(3)
        var flushes: [String] = []
        while flushes.isEmpty, Date() < deadline {
            flushes = fuse.requests(from: c.child.pid).filter { $0.hasPrefix("FLUSH ") && $0.hasSuffix(" stalled") }
            usleep(20_000)
        }
        #expect(!flushes.isEmpty, "\(fuse.log)")
        #expect(flushes.allSatisfy { !$0.contains(" tid=\(c.child.pid) ") }, "the main thread waits on FUSE_FLUSH: \(flushes)")
        // While that FLUSH waits, everything else goes on: screenshots, other clients, new clients.
        #expect(screenshotArrives(c, within: 2), "compositord is frozen in \(wchan(c.child.pid)):\n\(kernelStack(c.child.pid))")
        #expect(observer.isRunning)
        let r = try c.run("demo-client", ["--frames", "30"], timeout: 20, tag: "during-flush")
        #expect(r.status == 0 && r.stdout.contains("frames: 30"), "\(r.stdout) \(r.stderr)")
        // Released, the background close completes; compositord exits 0.
        fuse.release()
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// libwayland closes some client fds itself, on the main thread: here a FUSE fd attached to
    /// a request that takes none (wl_display.sync), which libwayland keeps unread and closes when
    /// the client disconnects. Its FLUSH, unanswered, froze compositord there; compositord's own
    /// close(2) (CDeferredClose) hands it to a background thread.
    @Test func strayFuseFdClosedByLibwaylandDoesNotFreezeCompositord() throws {
        let attack = try FuseAttack(answerFlush: false)
        let (fuse, c) = (attack.fuse, attack.compositor)
        defer { attack.stop() }
        let hostile = try attack.startClient(["--mode", "stray-fd", "--timeout", "2", "--linger", "60"])
        let out = waitForLine(hostile, containing: "lingering", timeout: 5)
        #expect(out.contains("stray fd sent after") && out.contains("disconnected"), "\(out)")
        // The disconnect's close reached the daemon (so the stall is exercised), not from the main thread.
        let deadline = Date().addingTimeInterval(3)
        var flushes: [String] = []
        while flushes.isEmpty, Date() < deadline {
            flushes = fuse.requests(from: c.child.pid).filter { $0.hasPrefix("FLUSH ") && $0.hasSuffix(" stalled") }
            usleep(20_000)
        }
        #expect(!flushes.isEmpty, "\(fuse.log)")
        #expect(flushes.allSatisfy { !$0.contains(" tid=\(c.child.pid) ") }, "the main thread waits on FUSE_FLUSH: \(flushes)")
        #expect(screenshotArrives(c, within: 2), "compositord is frozen in \(wchan(c.child.pid)):\n\(kernelStack(c.child.pid))")
        let r = try c.run("demo-client", ["--frames", "30"], timeout: 20, tag: "during-flush")
        #expect(r.status == 0 && r.stdout.contains("frames: 30"), "\(r.stdout) \(r.stderr)")
        fuse.release()
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
        #expect(exit.stderr.contains("closes deferred to the background (files on FUSE or network file systems): 1"), "\(exit.stderr)")
    }

    /// The same pool under `--seal-policy guard`, which accepts files that are not shared memory:
    /// compositord's first read of it (the screenshot's composite) page-faults into the daemon and
    /// freezes. This is what the tests above would see if the classification called into FUSE.
    @Test func guardAcceptsTheFusePoolAndStallsOnItsFirstRead() throws {
        let attack = try FuseAttack(answerFlush: true, ["--seal-policy", "guard"])
        let (fuse, c) = (attack.fuse, attack.compositor)
        defer { attack.stop() }
        let hostile = try attack.startClient(["--mode", "show", "--size", "\(Self.poolSize)", "--timeout", "5", "--linger", "60"])
        let out = waitForLine(hostile, containing: "lingering", timeout: 8)
        #expect(out.contains("pool accepted after") && out.contains("committed after"), "\(out)\n\(c.log)")
        #expect(fuse.requests(from: c.child.pid).isEmpty, "accepting the pool called into FUSE: \(fuse.log)")

        // The screenshot composites the window: a page fault on the FUSE file, READ, no answer.
        #expect(!screenshotArrives(c, within: 2), "compositord read the FUSE pool without stalling")
        let asked = fuse.requests(from: c.child.pid)
        #expect(asked.contains { $0.hasPrefix("READ ") && $0.hasSuffix(" stalled") }, "\(fuse.log)")
        let waitingIn = wchan(c.child.pid)

        // Released: the read completes with the file's bytes (0x40 each) and the frame is drawn.
        fuse.release()
        let deadline = Date().addingTimeInterval(5)
        while FileManager.default.contents(atPath: c.screenshotPath) == nil, Date() < deadline { usleep(20_000) }
        let shot = try c.screenshot()
        #expect(shot.rgb(40, 40) == 0x404040, "the window at (32, 32) shows the FUSE file's bytes (compositord waited in \(waitingIn))")
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }

    /// A capture into a pool whose file is not shared memory is written off the main thread
    /// (Buffers/PoolWriter.swift): under `guard` a FUSE pool is accepted, the screencopy's write
    /// stalls on the daemon in the pool's writer thread (its first request, GETXATTR of
    /// security.capability, is never answered), screenshots go on meanwhile, and the copy
    /// is `failed` at the 2 s deadline. (Written on the main thread, as before, the page fault
    /// would have held the whole compositor until the daemon answered.)
    @Test func aCaptureIntoAFusePoolStallsOnlyItsWriterThread() throws {
        let attack = try FuseAttack(answerFlush: true, ["--seal-policy", "guard"])
        let (fuse, c) = (attack.fuse, attack.compositor)
        defer { attack.stop() }
        let hostile = try attack.startClient(["--mode", "screencopy", "--size", "\(Self.poolSize)", "--timeout", "10", "--linger", "60"])
        _ = waitForLine(hostile, containing: "pool accepted after", timeout: 8)
        #expect(screenshotArrives(c, within: 1.5), "the main thread waited on the FUSE write:\n\(kernelStack(c.child.pid))\n\(fuse.log)")
        let out = waitForLine(hostile, containing: "screencopy ", timeout: 8)
        let answer = out.split(separator: "\n").first { $0.hasPrefix("screencopy ") }.map(String.init) ?? "no answer: \(out)"
        #expect(answer.hasPrefix("screencopy failed after "), "\(answer)\n\(c.log)")
        let ms = Int(answer.split(separator: " ").dropFirst(3).first ?? "") ?? 0
        #expect(ms >= 1900 && ms < 6000, "failed after \(ms) ms, the deadline is 2000 ms")
        #expect(c.log.contains("missed its 2000 ms deadline"), "\(c.log)")
        // The write's request (GETXATTR for security.capability, the first thing a write asks)
        // stalled, from a thread that is not the main thread (tid ≠ pid).
        let asked = fuse.requests(from: c.child.pid)
        #expect(asked.contains { $0.hasSuffix(" stalled") && !$0.contains("tid=\(c.child.pid) ") }, "\(fuse.log)")
        #expect(!asked.contains { $0.contains("tid=\(c.child.pid) ") }, "the main thread called into FUSE: \(fuse.log)")
        #expect(screenshotArrives(c, within: 2), "no screenshot after the deadline")
        fuse.release()
        let exit = c.terminate(timeout: 5)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }
}

/// A stalling FUSE mount, a compositord (640x480, plus `arguments`) and the hostile client that
/// offers it the mount's file (Fixtures/fuse_pool_client.py). `stop()` tears them down in the
/// order a stall needs: the daemon first (it answers whatever is held), then the client.
final class FuseAttack {
    let fuse: FuseMount
    let compositor: CompositorProcess
    private var client: Child?

    init(answerFlush: Bool, _ arguments: [String] = []) throws {
        fuse = try FuseMount(answerFlush: answerFlush)
        compositor = try CompositorProcess(arguments + ["--width", "640", "--height", "480"])
    }

    /// fuse_pool_client.py with `--file` the mount's file, then `arguments`.
    func startClient(_ arguments: [String]) throws -> Child {
        let started = try compositor.start(FuseMount.python, [FuseMount.fixture("fuse_pool_client.py"), "--file", fuse.file] + arguments,
                                           tag: "fuse-client")
        client = started
        return started
    }

    func stop() {
        fuse.stop()
        client?.signal(SIGTERM)
        client?.wait(timeout: 5)
    }

    deinit { stop() }
}

/// A FUSE file system served by Fixtures/stalling_fuse.py, mounted on a private directory under
/// /tmp (not inside a RuntimeDir: its recursive removal would walk into a stalling mount).
final class FuseMount {
    let mountpoint: String
    let daemon: Child
    private let logs = RuntimeDir()
    private var stopped = false
    var file: String { "\(mountpoint)/pool" }

    static let python = "/usr/bin/python3"

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// Skips the test (Test.cancel) when /dev/fuse is missing or mounting is not permitted.
    init(answerFlush: Bool) throws {
        guard access("/dev/fuse", F_OK) == 0 else {
            print("FuseTests: skipped: /dev/fuse is missing (no FUSE in this kernel or container)")
            try Test.cancel("/dev/fuse is missing: no FUSE here")
        }
        guard access(Self.python, X_OK) == 0 else {
            throw Child.SpawnError(description: "\(Self.python) is missing: the FUSE daemon and client are Python (Debian package python3, scripts/setup --test)")
        }
        mountpoint = try PrivateDirectory.create(in: "/tmp", prefix: "compositord-fuse-")
        do {
            daemon = try Child(Self.python, [Self.fixture("stalling_fuse.py"), mountpoint, "--size", "\(FuseTests.poolSize)",
                                                   "--lifetime", "60"] + (answerFlush ? ["--answer-flush"] : []),
                               environment: [:], dir: logs.path, tag: "fuse-daemon")
        } catch {
            rmdir(mountpoint)
            throw error
        }
        let deadline = Date().addingTimeInterval(10)
        while !daemon.stdout.contains("\nready ") {
            if !daemon.isRunning {
                let result = daemon.wait(timeout: 1)
                rmdir(mountpoint)
                stopped = true
                if result.status == 77, let why = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("SKIP: ") }) {
                    print("FuseTests: skipped: \(why.dropFirst(6))")
                    try Test.cancel(Comment(rawValue: String(why.dropFirst(6))))
                }
                throw Child.SpawnError(description: "the FUSE daemon exited \(result.status): \(result.stdout)\(result.stderr)")
            }
            if Date() > deadline {
                stop()
                throw Child.SpawnError(description: "the FUSE daemon did not mount in 10 s: \(daemon.stdout)\(daemon.stderr)")
            }
            usleep(10_000)
        }
    }

    deinit { stop() }

    /// What the daemon saw, one request a line: "GETATTR pid=123 tid=123 stalled".
    var log: String { daemon.stdout }

    /// The requests made by process `pid` (any of its threads).
    func requests(from pid: pid_t) -> [String] {
        log.split(separator: "\n").filter { $0.contains(" pid=\(pid) ") }.map(String.init)
    }

    /// Answers every stalled request and stops stalling.
    func release() { daemon.signal(SIGUSR1) }

    /// Answers everything, detaches the mount, stops the daemon (SIGKILL aborts the connection
    /// if it does not exit), and removes the mount point. Idempotent.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if daemon.isRunning {
            daemon.signal(SIGTERM)
            daemon.wait(timeout: 3)
        }
        umount2(mountpoint, Int32(MNT_DETACH))  // in case the daemon was killed (EINVAL if already gone)
        rmdir(mountpoint)
    }
}

/// Polls `child`'s stdout until it contains `text`, the child exits, or `timeout` passes.
private func waitForLine(_ child: Child, containing text: String, timeout: Double) -> String {
    let deadline = Date().addingTimeInterval(timeout)
    while !child.stdout.contains(text), child.isRunning, Date() < deadline { usleep(10_000) }
    return child.stdout
}

/// SIGUSR1, and whether the PNG appears within `seconds` (CompositorProcess.screenshot waits 10 s
/// and throws).
private func screenshotArrives(_ c: CompositorProcess, within seconds: Double) -> Bool {
    unlink(c.screenshotPath)
    c.child.signal(SIGUSR1)
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if FileManager.default.fileExists(atPath: c.screenshotPath) { return true }
        usleep(20_000)
    }
    return false
}

/// The main thread's kernel stack (root only), to show which system call reached FUSE.
private func kernelStack(_ pid: pid_t) -> String {
    (try? String(contentsOfFile: "/proc/\(pid)/stack", encoding: .utf8)) ?? ""
}

/// Where the process's main thread waits in the kernel ("request_wait_answer": on a FUSE daemon).
private func wchan(_ pid: pid_t) -> String {
    (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
}
