import ClientKit
import Foundation
import Glibc
import Testing

/// FuseFileSystem: mounted, serves its file to this process even while stalling, holds other
/// processes' requests until released (or for a bounded delay), and unmounts on stop. Needs root
/// and /dev/fuse; skipped with a message where either is missing.
@Suite(.serialized) struct FuseFileSystemTests {
    static let size = 20000

    /// The file system, or a skip where FUSE cannot be mounted here.
    static func mount() throws -> FuseFileSystem {
        let failure: FuseFileSystem.Failure
        do {
            return try FuseFileSystem(size: size, byte: 0x5A)
        } catch {
            failure = error
        }
        if case let .unavailable(why, _) = failure {
            print("FuseFileSystemTests: skipped: \(why)")
            try Test.cancel(Comment(rawValue: why))
        }
        throw failure
    }

    @Test func servesStallsReleasesAndUnmounts() throws {
        let fuse = try Self.mount()
        defer { fuse.stop() }
        #expect(mountLine(fuse.mountpoint)?.contains(" - fuse ") == true, "\(mountLine(fuse.mountpoint) ?? "not in mountinfo")")

        // Stalling holds other processes only: a thread of this one still reads the file.
        fuse.stall()
        let bytes = readOnAnotherThread(fuse.path)
        #expect(bytes?.count == Self.size && bytes?.allSatisfy { $0 == 0x5A } == true, "\(bytes?.count ?? -1) bytes")
        #expect(fuse.foreignRequests.isEmpty, "\(fuse.foreignRequests)")

        // Another process waits on the daemon until it is released, then reads the bytes.
        let cat = try spawn("/bin/cat", [fuse.path])
        usleep(400_000)
        #expect(cat.isRunning, "cat returned while the daemon stalls")
        let held = fuse.foreignRequests.filter { $0.outcome == .held }
        #expect(held.contains { $0.process == cat.pid }, "\(fuse.requests)")
        #expect(fuse.release() >= 1)
        let out = cat.finish(timeout: 5)
        #expect(out.status == 0 && out.data.count == Self.size && out.data.allSatisfy { $0 == 0x5A }, "cat: \(out.status), \(out.data.count) bytes")

        // A bounded stall answers each held request after the delay.
        fuse.stall(answerAfter: .milliseconds(300))
        let start = Date()
        let stat = try spawn("/usr/bin/stat", ["-L", "-c", "%s", fuse.path])
        let statOut = stat.finish(timeout: 5)
        let took = Date().timeIntervalSince(start)
        #expect(statOut.status == 0 && String(decoding: statOut.data, as: UTF8.self) == "\(Self.size)\n", "\(statOut)")
        #expect(took >= 0.3 && took < 4, "stat took \(took) s")
        #expect(fuse.foreignRequests.contains { if case let .answeredAfter(d) = $0.outcome { d >= .milliseconds(300) } else { false } }, "\(fuse.requests)")

        // ...except the operations held until release.
        fuse.stall(answerAfter: .milliseconds(100), holdUntilRelease: [.lookup])
        let late = try spawn("/usr/bin/stat", ["-L", "-c", "%s", fuse.path])
        usleep(500_000)
        #expect(late.isRunning, "LOOKUP was answered before release")
        fuse.release()
        #expect(late.finish(timeout: 5).status == 0)

        // stop: unmounted and the mount point removed.
        let mountpoint = fuse.mountpoint
        fuse.stop()
        #expect(mountLine(mountpoint) == nil)
        #expect(access(mountpoint, F_OK) != 0)
    }

    /// Without stall the file system answers everyone; deinit unmounts.
    @Test func answersEveryoneUntilStalledAndDeinitUnmounts() throws {
        var fuse: FuseFileSystem? = try Self.mount()
        let mountpoint = fuse!.mountpoint
        let stat = try spawn("/usr/bin/stat", ["-f", "-L", "-c", "%T", fuse!.path])
        let out = stat.finish(timeout: 5)
        #expect(out.status == 0 && String(decoding: out.data, as: UTF8.self).hasPrefix("fuse"), "\(out)")
        #expect(fuse!.foreignRequests.contains { $0.name == "STATFS" && $0.outcome == .answered }, "\(fuse!.requests)")
        fuse = nil
        #expect(mountLine(mountpoint) == nil)
        #expect(access(mountpoint, F_OK) != 0)
    }
}

/// The /proc/self/mountinfo line of the mount on `path`, nil if nothing is mounted there.
private func mountLine(_ path: String) -> String? {
    let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    return info.split(separator: "\n").first { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }.map(String.init)
}

/// Opens, reads and closes `path` on a new thread; nil if that took more than 5 s.
private func readOnAnotherThread(_ path: String) -> [UInt8]? {
    final class Box: @unchecked Sendable { var bytes: [UInt8]? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        box.bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        done.signal()
    }
    return done.wait(timeout: .now() + 5) == .success ? box.bytes : nil
}

/// A child with its stdout on a pipe, spawned with posix_spawn (Foundation's Process leaves a weak
/// reference behind that LeakSanitizer reports).
private struct Spawned {
    let pid: pid_t
    let stdout: Int32

    /// Still running (does not reap it: `finish` does).
    var isRunning: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == 0
    }

    /// Waits for the exit (SIGKILL after `timeout` s) and reads its stdout.
    func finish(timeout: Double) -> (status: Int32, data: [UInt8]) {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            usleep(10_000)
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let n = read(stdout, &chunk, chunk.count), n > 0 { data += chunk[..<n] }
        close(stdout)
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (code, data)
    }
}

private func spawn(_ path: String, _ arguments: [String]) throws -> Spawned {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw FuseSpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
    posix_spawn_file_actions_addclose(&actions, ends[0])
    posix_spawn_file_actions_addclose(&actions, ends[1])
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    close(ends[1])
    guard rc == 0 else {
        close(ends[0])
        throw FuseSpawnError(description: "posix_spawn \(path): \(String(cString: strerror(rc)))")
    }
    return Spawned(pid: pid, stdout: ends[0])
}

private struct FuseSpawnError: Error, CustomStringConvertible { let description: String }
