import ClientKit
import Foundation
import Glibc
import PNG
import Testing

/// compositord near RLIMIT_NOFILE, and clients that send more fds than they should
/// (docs/robustness/hygiene.md).
@Suite struct FdPressureTests {
    /// compositord under `prlimit --nofile=limit:limit` (limit nil: the inherited limits).
    final class LimitedCompositor {
        let runtime = RuntimeDir()
        let child: Child
        let socketPath: String
        let screenshotPath: String

        init(nofile limit: Int?, _ arguments: [String] = ["--width", "320", "--height", "240"]) throws {
            screenshotPath = "\(runtime.path)/screenshot.png"
            let compositord = ["\(productsDirectory)/compositord", "--headless", "--screenshot", screenshotPath] + arguments
            let command = limit.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)", "--"] + compositord } ?? compositord
            child = try Child(command[0], Array(command.dropFirst()), environment: ["XDG_RUNTIME_DIR": runtime.path],
                              dir: runtime.path, tag: "compositord")
            let deadline = Date().addingTimeInterval(15)
            var name: String?
            while name == nil, child.isRunning, Date() < deadline {
                name = child.stdout.split(separator: "\n").first { $0.hasPrefix("WAYLAND_DISPLAY=") }.map { String($0.dropFirst(16)) }
                if name == nil { usleep(10_000) }
            }
            guard let name else { throw CompositorProcess.Failure(description: "compositord did not start:\n\(child.stderr)") }
            socketPath = "\(runtime.path)/\(name)"
            usleep(100_000)  // the first frame
        }

        deinit { child.signal(SIGKILL); child.wait(timeout: 5) }

        var log: String { child.stderr }
        var fdCount: Int { ProcStat.fdCount(child.pid) }

        func start(_ executable: String, _ arguments: [String], tag: String) throws -> Child {
            try Child("\(productsDirectory)/\(executable)", arguments,
                      environment: ["XDG_RUNTIME_DIR": runtime.path, "WAYLAND_DISPLAY": socketPath], dir: runtime.path, tag: tag)
        }

        /// Polls until the fd count is `expected` (or 10 s pass); returns the last count.
        func waitForFdCount(_ expected: Int) -> Int {
            let deadline = Date().addingTimeInterval(10)
            var count = fdCount
            while count != expected, Date() < deadline {
                usleep(20_000)
                count = fdCount
            }
            return count
        }

        /// SIGUSR1: the compositor opens a file and writes the PNG (its own fd need).
        func screenshot() throws -> PNGImage {
            unlink(screenshotPath)
            child.signal(SIGUSR1)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let data = FileManager.default.contents(atPath: screenshotPath) { return try PNGImage(bytes: [UInt8](data)) }
                usleep(20_000)
            }
            throw CompositorProcess.Failure(description: "no screenshot after SIGUSR1:\n\(log)")
        }
    }

    /// demo-client's moving bar: rows [3H/8, 5H/8) of its 96x96 window at (32, 32).
    static func bar(_ shot: PNGImage) -> [UInt32] {
        (68..<92).flatMap { y in (32..<128).map { x in shot.rgb(x, y) } }
    }

    static func expectNoEMFILE(_ log: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for sign in ["Too many open files", "EMFILE", "fd table full"] {
            #expect(!log.contains(sign), "the log shows \(sign)", sourceLocation: sourceLocation)
        }
    }

    @Test func newClientsAreRefusedNearTheFdLimitAndAcceptedAgainLater() throws {
        let limit = 256
        let c = try LimitedCompositor(nofile: limit)
        let base = c.fdCount
        // Sockets there from the start: the listening socket, and any the test runner leaks into children.
        let socketsAtStart = Set(FdTable(pid: c.child.pid).entries.filter { $0.target.hasPrefix("socket:") }.map(\.fd))
        let window = try c.start("demo-client", ["--width", "96", "--height", "96"], tag: "window")
        defer { window.signal(SIGKILL); window.wait(timeout: 5) }
        let deadline = Date().addingTimeInterval(30)
        while !c.log.contains("toplevel mapped"), Date() < deadline { usleep(20_000) }

        var connections: [Connection] = []
        var refusal: ProtocolError?
        var countBeforeRefusal = 0
        for _ in 0..<200 {
            countBeforeRefusal = c.fdCount
            let connection = try Connection(displayName: c.socketPath)
            do {
                try connection.roundtrip(timeout: .seconds(10)).orThrow(waitingFor: "a roundtrip")
                connections.append(connection)
            } catch let error as ProtocolError {
                refusal = error
                break
            }
        }
        print("fd-pressure: nofile \(limit): \(connections.count) clients admitted beside the window, then refused: \(refusal.map { "\($0)" } ?? "-"); compositor fds \(c.fdCount) (\(base) at start)")
        #expect(connections.count >= 40, "only \(connections.count) clients before the limit")
        #expect(refusal?.interface == "wl_display" && refusal?.code == 2, "\(String(describing: refusal))")  // no_memory
        #expect(refusal?.message.contains("compositor is at its file descriptor limit") == true, "\(String(describing: refusal))")
        #expect(c.log.contains("client refused"))
        // The refused connection is closed at once, and no client fd is in the reserve.
        #expect(c.waitForFdCount(countBeforeRefusal) == countBeforeRefusal)
        let sockets = FdTable(pid: c.child.pid).entries.filter { $0.target.hasPrefix("socket:") && !socketsAtStart.contains($0.fd) }.map(\.fd)
        #expect(sockets.count == 2 * (connections.count + 1), "the window and each client, twice (libwayland dups): \(sockets)")
        #expect((sockets.max() ?? 0) < limit - 64, "a client socket in the reserve: \(sockets)")

        // At the limit, the window still gets frames and the compositor can still open files.
        let first = Self.bar(try c.screenshot())
        var moved = false
        for _ in 0..<50 where !moved {
            usleep(50_000)
            moved = Self.bar(try c.screenshot()) != first
        }
        #expect(moved, "the window's bar stopped moving at the fd limit")
        #expect(window.isRunning)
        for connection in connections { #expect(connection.error == nil) }

        // Two clients leave: a new one is accepted again.
        let before = c.fdCount
        connections.removeLast(2)
        #expect(c.waitForFdCount(before - 4) == before - 4)
        var again: Connection? = try Connection(displayName: c.socketPath)
        #expect(try again?.roundtrip(timeout: .seconds(10)) == .satisfied)

        // Everyone leaves: back to the fds at start.
        again = nil
        connections = []
        window.signal(SIGINT)
        window.wait(timeout: 10)
        #expect(c.waitForFdCount(base) == base)
        Self.expectNoEMFILE(c.log)
    }
}

extension FdPressureTests {
    /// A raw client bound to wl_shm (new id 3 after the registry, 2).
    static func shmClient(_ path: String) throws -> (RawWaylandClient, shm: UInt32) {
        let raw = RawWaylandClient.registry(at: path)
        let name = try #require(raw.globalName("wl_shm"))
        let shm = raw.bind(name: name, interface: "wl_shm", version: 1)
        #expect(raw.roundtrip())
        return (raw, shm)
    }

    /// 28 wl_shm.create_pool requests in one sendmsg, each with its own sealed memfd (28 fds per
    /// message, libwayland's maximum), until the compositor says stop: the pool whose fd lands in
    /// the reserve is refused with wl_display.error(no_memory), and everything the client had
    /// is closed with it.
    @Test func poolFloodIsRefusedAtTheReserve() throws {
        let c = try LimitedCompositor(nofile: 128)
        let base = c.fdCount
        let (raw, shm) = try Self.shmClient(c.socketPath)
        var sent = 0
        for _ in 0..<20 where raw.displayError == nil && !raw.hungUp {
            var words: [UInt8] = []
            var fds: [Int32] = []
            for _ in 0..<28 {
                words += RawWaylandClient.message(object: shm, opcode: 0, [raw.newID(), 4096])  // create_pool(id, fd, size)
                fds.append(sealedMemfd())
            }
            let rc = raw.send(words, fds: fds)
            for fd in fds { close(fd) }
            if rc != 0 { break }
            sent += 28
            _ = raw.roundtrip(timeout: 5)
        }
        raw.read(timeout: 10) { $0.hungUp }
        print("fd-pressure: nofile 128: pool flood of \(sent) create_pool (28 per sendmsg) ended with \(raw.displayError.map { "\($0)" } ?? "-")")
        #expect(raw.displayError?.objectID == 1 && raw.displayError?.code == 2, "\(String(describing: raw.displayError)) after \(sent) pools")
        #expect(raw.displayError?.message.contains("compositor is at its file descriptor limit") == true)
        #expect(raw.hungUp)
        #expect(c.log.contains("rule=fd-limit") || c.log.contains("file descriptor limit"), "\(c.log.suffix(2000))")
        #expect(c.waitForFdCount(base) == base, "fds after the flood: \(c.fdCount), at start \(base)")
        // Others are served as before.
        let other = try Connection(displayName: c.socketPath)
        #expect(try other.roundtrip(timeout: .seconds(10)) == .satisfied)
        Self.expectNoEMFILE(c.log)
    }

    /// fds attached to requests that take none (wl_display.sync) stay in libwayland's ring, up to
    /// 1024 per client; the next message overflows it and libwayland drops the client (no error
    /// event: it cannot read the connection any more). All of them are closed with it.
    @Test func strayFdsEndWithTheirClient() throws {
        let c = try LimitedCompositor(nofile: nil)
        let base = c.fdCount
        let raw = RawWaylandClient.registry(at: c.socketPath)
        let memfd = sealedMemfd()
        defer { close(memfd) }
        var peak = 0, messages = 0
        for _ in 0..<60 where !raw.hungUp {
            if raw.send(RawWaylandClient.message(object: 1, opcode: 0, [raw.newID()]), fds: Array(repeating: memfd, count: 28)) != 0 { break }
            messages += 1
            raw.read(timeout: 0.05) { $0.hungUp }
            peak = max(peak, c.fdCount)
        }
        raw.read(timeout: 10) { $0.hungUp }
        print("fd-pressure: stray fds: dropped after \(messages) wl_display.sync with 28 fds each; compositor fds peaked at +\(peak - base)")
        #expect(raw.hungUp, "still connected after \(messages) messages with 28 stray fds each")
        #expect(raw.displayError == nil)
        #expect(peak - base <= 2 + 1024, "peak \(peak), base \(base)")
        #expect(c.log.contains("libwayland: failed to read client connection"), "\(c.log.suffix(2000))")
        #expect(c.waitForFdCount(base) == base, "fds after the stray client left: \(c.fdCount), at start \(base)")
        let other = try Connection(displayName: c.socketPath)
        #expect(try other.roundtrip(timeout: .seconds(10)) == .satisfied)
    }

    /// One sendmsg with 200 fds: libwayland reads with room for 28, so the kernel drops the other
    /// 172 (MSG_CTRUNC, which libwayland 1.21 does not check). The 28 that arrived are strays held
    /// until the client leaves.
    @Test func moreFdsThanOneReadTakesAreDroppedByTheKernel() throws {
        let c = try LimitedCompositor(nofile: nil)
        let base = c.fdCount
        let raw = RawWaylandClient.registry(at: c.socketPath)
        let memfd = sealedMemfd()
        defer { close(memfd) }
        #expect(raw.send(RawWaylandClient.message(object: 1, opcode: 0, [raw.newID()]), fds: Array(repeating: memfd, count: 200)) == 0)
        #expect(raw.roundtrip())
        let held = c.fdCount - base
        print("fd-pressure: one sendmsg with 200 fds: the compositor holds \(held) fds for the client (its socket twice and the fds that fit)")
        #expect(held <= 2 + 28, "the compositor holds \(held) fds for this client")
        raw.read(timeout: 0.2) { $0.hungUp }
        withExtendedLifetime(raw) {}
        raw.close()
        #expect(c.waitForFdCount(base) == base, "fds after it left: \(c.fdCount), at start \(base)")
    }

    /// Strays can still fill a small table (they never reach a handler, so the reserve cannot
    /// keep them out). Then accept fails with EMFILE: the spare fd is given up to accept the
    /// connection and refuse it with the error, instead of libwayland's busy loop.
    @Test func fullTableRefusesNewClientsWithoutSpinning() throws {
        let c = try LimitedCompositor(nofile: 128)
        let base = c.fdCount
        let hog = RawWaylandClient.registry(at: c.socketPath)
        let memfd = sealedMemfd()
        defer { close(memfd) }
        for _ in 0..<6 { hog.send(RawWaylandClient.message(object: 1, opcode: 0, [hog.newID()]), fds: Array(repeating: memfd, count: 28)) }
        #expect(hog.roundtrip(), "libwayland dropped the hog (its ring held \(c.fdCount - base) fds)")
        #expect(c.fdCount >= 127, "table not full: \(c.fdCount)")

        let ticks = ProcStat.cpuTicks(c.child.pid)
        var refused = 0
        for _ in 0..<5 {
            let late = try RawWaylandClient(path: c.socketPath)
            late.read(timeout: 3) { $0.hungUp }
            if late.displayError?.code == 2, late.displayError?.message.contains("file descriptor limit") == true { refused += 1 }
        }
        usleep(1_000_000)
        // A generous busy-loop detector, not a performance figure: a spinning loop burns ~100 ticks a second.
        #expect(ProcStat.cpuTicks(c.child.pid) - ticks < 60, "compositord spun at EMFILE")
        print("fd-pressure: nofile 128, table full of strays: \(refused) of 5 new clients refused with the error; compositord used \(ProcStat.cpuTicks(c.child.pid) - ticks) CPU ticks in the 1 s after")
        #expect(refused == 5, "\(refused) of 5 late clients got the error")
        #expect(c.log.contains("fd table full at accept: refused a client through the spare fd"))

        hog.close()
        #expect(c.waitForFdCount(base) == base)
        let other = try Connection(displayName: c.socketPath)
        #expect(try other.roundtrip(timeout: .seconds(10)) == .satisfied)
        #expect(c.child.isRunning)
    }
}
