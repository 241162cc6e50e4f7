import ClientKit
import Foundation
import Glibc
import Testing

/// Where the socket may live, who may capture, and whose fds a client can see
/// (docs/robustness/hygiene.md).
@Suite struct SecurityTests {
    static let compositord = "\(productsDirectory)/compositord"

    /// Starts compositord with `XDG_RUNTIME_DIR=dir` and waits for it to exit (it should refuse).
    static func start(in dir: String, logs: RuntimeDir, tag: String, _ arguments: [String] = []) throws -> ProcessResult {
        try Child(compositord, ["--headless"] + arguments, environment: ["XDG_RUNTIME_DIR": dir], dir: logs.path, tag: tag).wait(timeout: 15)
    }

    static func contents(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func runtimeDirMustBeAPrivateDirectoryOfOurs() throws {
        let logs = RuntimeDir()
        for (mode, message) in [
            (0o755, "its mode is 0755, which lets the group and others in: it must be 0700"),
            (0o710, "its mode is 0710, which lets the group in: it must be 0700"),
            (0o701, "its mode is 0701, which lets others in: it must be 0700"),
            (0o500, "its mode is 0500: it must be 0700"),
        ] as [(mode_t, String)] {
            let dir = RuntimeDir()
            chmod(dir.path, mode)
            let r = try Self.start(in: dir.path, logs: logs, tag: "mode-\(String(mode, radix: 8))")
            #expect(r.status == 1, "mode \(String(mode, radix: 8)): \(r.stderr)")
            #expect(r.stderr.contains("XDG_RUNTIME_DIR=\(dir.path) is unusable: \(message)"), "\(r.stderr)")
            chmod(dir.path, 0o700)
            #expect(Self.contents(dir.path).isEmpty, "a refused start left \(Self.contents(dir.path))")
        }

        // A symlink to a good directory is refused too: the directory checked must be the one used.
        let real = RuntimeDir()
        let link = "\(logs.path)/link"
        #expect(symlink(real.path, link) == 0)
        let linked = try Self.start(in: link, logs: logs, tag: "symlink")
        #expect(linked.status == 1)
        #expect(linked.stderr.contains("XDG_RUNTIME_DIR=\(link) is unusable: it is a symbolic link (to \(real.path))"), "\(linked.stderr)")
        #expect(Self.contents(real.path).isEmpty)

        let file = "\(logs.path)/plain-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let notDir = try Self.start(in: file, logs: logs, tag: "file")
        #expect(notDir.status == 1 && notDir.stderr.contains("is unusable: not a directory"), "\(notDir.stderr)")

        // Owned by someone else (only root can make such a directory for the test).
        if geteuid() == 0 {
            let foreign = RuntimeDir()
            #expect(chown(foreign.path, 65534, 65534) == 0)
            let r = try Self.start(in: foreign.path, logs: logs, tag: "foreign")
            #expect(r.status == 1)
            #expect(r.stderr.contains("is unusable: it is owned by uid 65534, not by this process's uid 0"), "\(r.stderr)")
            #expect(Self.contents(foreign.path).isEmpty)
        }
    }

    /// libwayland makes the socket 0777 and the lock 0660, minus the umask: under `umask 0` both
    /// would be group/world-writable. compositord's are 0600 whatever the umask.
    @Test func socketAndLockAreOwnerOnlyWhateverTheUmask() throws {
        let dir = RuntimeDir()
        // A planted lock symlink must not be followed (O_NOFOLLOW): wayland-0 is skipped.
        let victim = "\(dir.path)-victim"
        #expect(symlink(victim, "\(dir.path)/wayland-0.lock") == 0)
        let child = try Child("/bin/sh", ["-c", "umask 000; exec \"$0\" --headless", Self.compositord],
                              environment: ["XDG_RUNTIME_DIR": dir.path], dir: dir.path, tag: "umask0")
        defer { child.signal(SIGKILL); child.wait(timeout: 5) }
        let deadline = Date().addingTimeInterval(15)
        while !child.stdout.contains("WAYLAND_DISPLAY="), child.isRunning, Date() < deadline { usleep(10_000) }
        #expect(child.stdout.contains("WAYLAND_DISPLAY=wayland-1"), "\(child.stdout)\n\(child.stderr)")
        #expect(access(victim, F_OK) != 0, "the lock symlink was followed")

        var st = stat()
        let socket = "\(dir.path)/wayland-1"
        #expect(lstat(socket, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK, "not a socket: \(String(st.st_mode, radix: 8))")
        #expect(st.st_uid == geteuid())
        #expect(st.st_mode & 0o777 == 0o600, "socket mode \(String(st.st_mode & 0o777, radix: 8))")
        #expect(lstat(socket + ".lock", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFREG)
        #expect(st.st_uid == geteuid())
        #expect(st.st_mode & 0o777 == 0o600, "lock mode \(String(st.st_mode & 0o777, radix: 8))")

        // It works, and it cleans up after itself.
        let globals = try Connection(displayName: socket).listGlobals()
        #expect(globals.contains { $0.interface == "wl_compositor" })
        child.signal(SIGTERM)
        #expect(child.wait(timeout: 10).status == 0)
        #expect(Self.contents(dir.path).filter { $0.hasPrefix("wayland-1") }.isEmpty, "\(Self.contents(dir.path))")
    }

    static let captureGlobals = ["ext_foreign_toplevel_image_capture_source_manager_v1", "ext_image_copy_capture_manager_v1",
                                 "ext_output_image_capture_source_manager_v1", "zwlr_export_dmabuf_manager_v1", "zwlr_screencopy_manager_v1"]

    @Test func captureDenyHidesTheCaptureGlobalsAndRefusesTheirNames() throws {
        let allow = try CompositorProcess(["--width", "320", "--height", "240"])
        let allowed = RawWaylandClient.registry(at: "\(allow.runtime.path)/\(allow.socketName)")
        let names = Self.captureGlobals.compactMap { allowed.globalName($0) }
        #expect(names.count == Self.captureGlobals.count, "allow (the default) advertises them all: \(allowed.globals)")

        let deny = try CompositorProcess(["--width", "320", "--height", "240", "--capture", "deny"])
        let socket = "\(deny.runtime.path)/\(deny.socketName)"
        let interfaces = try Connection(displayName: socket).listGlobals().map(\.interface)
        for hidden in Self.captureGlobals { #expect(!interfaces.contains(hidden), "\(interfaces)") }
        for shown in ["wl_compositor", "wl_shm", "wl_output", "xdg_wm_base", "zxdg_output_manager_v1"] {
            #expect(interfaces.contains(shown), "\(interfaces)")
        }
        #expect(deny.log.contains("capture denied: \(Self.captureGlobals.joined(separator: ", ")) are hidden from every client"), "\(deny.log)")

        // Guessing: the same names (globals are created in the same order) cannot be bound.
        for (interface, name) in zip(Self.captureGlobals, names) {
            let raw = RawWaylandClient.registry(at: socket)
            #expect(raw.globals[name] == nil)
            _ = raw.bind(name: name, interface: interface, version: 1)
            #expect(!raw.roundtrip(), "binding hidden \(interface) (\(name)) succeeded")
            #expect(raw.displayError == .init(objectID: 2, code: 0, message: "invalid global \(interface) (\(name))"),
                    "\(String(describing: raw.displayError))")
            raw.read(timeout: 10) { $0.hungUp }
            #expect(raw.hungUp, "a client that bound a hidden global stays connected")
        }
        // A visible global still binds by name.
        let raw = RawWaylandClient.registry(at: socket)
        _ = raw.bind(name: try #require(raw.globalName("wl_output")), interface: "wl_output", version: 1)
        #expect(raw.roundtrip() && raw.displayError == nil)

        let grim = "/usr/bin/grim"
        if FileManager.default.fileExists(atPath: grim) {
            let r = try deny.run(grim, ["\(deny.runtime.path)/denied.png"], timeout: 30, tag: "grim")
            #expect(r.status != 0, "grim captured under --capture deny")
            #expect(!FileManager.default.fileExists(atPath: "\(deny.runtime.path)/denied.png"))
            let ok = try allow.run(grim, ["\(allow.runtime.path)/allowed.png"], timeout: 30, tag: "grim")
            #expect(ok.status == 0, "\(ok.stderr)")
        }
        #expect(deny.isRunning && allow.isRunning)
    }

    /// Clients A and B render from sealed memfd pools; C (this process) captures. No pool file of
    /// A is in B's or C's fd table, and the other way round; the compositor holds them; once
    /// everyone has left, the compositor is back to its fd count at start.
    @Test func fdTablesOfClientsStayApart() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        try Self.checkFdIsolation(c)
    }

    static func checkFdIsolation(_ c: CompositorProcess, expectExport: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        usleep(200_000)  // the first frame (background) is composited at start
        let atStart = FdTable(pid: c.child.pid)
        let a = try c.start("demo-client", ["--width", "200", "--height", "150"], tag: "A")
        let b = try c.start("demo-client", ["--width", "120", "--height", "90"], tag: "B")
        defer { for x in [a, b] { x.signal(SIGKILL); x.wait(timeout: 5) } }
        let deadline = Date().addingTimeInterval(60)
        while c.log.components(separatedBy: "toplevel mapped").count < 3, Date() < deadline { usleep(20_000) }
        #expect(c.log.components(separatedBy: "toplevel mapped").count == 3, "both windows mapped", sourceLocation: sourceLocation)

        // C: screencopy into its own pool, and (where the output is a dma-buf) an exported frame held.
        try {
            let capturer = try OutputCapture(connection: Connection(displayName: "\(c.runtime.path)/\(c.socketName)"), timeout: .seconds(30))
            let copy = try capturer.capture(.screencopy, timeout: .seconds(30))
            #expect(copy.width == 640, sourceLocation: sourceLocation)
            var held: HeldExportedFrame?
            do { held = try capturer.captureHeld(timeout: .seconds(30)) } catch CaptureError.cancelled(.permanent) {
                // memfd backend (the host): nothing is exported, so nothing to hold.
            }
            defer { held?.release() }
            #expect(!expectExport || held?.fileDescriptor != nil, "no frame was exported", sourceLocation: sourceLocation)

            let compositor = FdTable(pid: c.child.pid)
            let tableA = FdTable(pid: a.pid), tableB = FdTable(pid: b.pid), tableC = FdTable(pid: getpid())
            // The compositor's own files (output buffers, the dma-buf format table) may be shared.
            let poolsA = Set(tableA.memfds.map(\.file)).subtracting(atStart.files)
            let poolsB = Set(tableB.memfds.map(\.file)).subtracting(atStart.files)
            #expect(!poolsA.isEmpty && !poolsB.isEmpty, "A: \(tableA.memfds.map(\.target)) B: \(tableB.memfds.map(\.target))",
                    sourceLocation: sourceLocation)
            #expect(!poolsA.isDisjoint(with: compositor.files) && !poolsB.isDisjoint(with: compositor.files),
                    "the compositor holds the pools it was sent", sourceLocation: sourceLocation)
            #expect(tableB.sharing(poolsA).isEmpty, "B sees A's pools: \(tableB.sharing(poolsA))", sourceLocation: sourceLocation)
            #expect(tableA.sharing(poolsB).isEmpty, "A sees B's pools: \(tableA.sharing(poolsB))", sourceLocation: sourceLocation)
            #expect(tableC.sharing(poolsA.union(poolsB)).isEmpty, "C sees a client's pool: \(tableC.sharing(poolsA.union(poolsB)))",
                    sourceLocation: sourceLocation)
            if let fd = held?.fileDescriptor {
                var st = stat()
                #expect(fstat(fd.rawValue, &st) == 0)
                let exported = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                #expect(compositor.files.contains(exported), "C's exported fd is not one of the compositor's files: \(compositor.entries.map(\.target))",
                        sourceLocation: sourceLocation)
                #expect(!poolsA.union(poolsB).contains(exported), "C was exported a client's pool", sourceLocation: sourceLocation)
            }
        }()

        for x in [a, b] { x.signal(SIGINT); x.wait(timeout: 10) }
        let back = Date().addingTimeInterval(10)
        var count = ProcStat.fdCount(c.child.pid)
        while count != atStart.entries.count, Date() < back {
            usleep(20_000)
            count = ProcStat.fdCount(c.child.pid)
        }
        #expect(count == atStart.entries.count, "compositor fds \(count) after everyone left, \(atStart.entries.count) at start: \(FdTable(pid: c.child.pid).entries.map(\.target))",
                sourceLocation: sourceLocation)
    }
}

extension RawWaylandClient {
    /// Connected, with the registry's globals read.
    static func registry(at path: String) -> RawWaylandClient {
        let raw = try! RawWaylandClient(path: path)
        raw.getRegistry()
        _ = raw.roundtrip()
        return raw
    }
}
