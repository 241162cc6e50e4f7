import Glibc

/// `compositord run [compositord flags] -- COMMAND [ARGS...]`: an xvfb-run for Wayland. Starts
/// `compositord --headless` (this executable, a process of its own) with its socket in a private
/// runtime directory, runs COMMAND with `WAYLAND_DISPLAY` naming that socket, forwards SIGINT,
/// SIGTERM, SIGHUP and SIGQUIT to COMMAND, then stops the compositor and exits with COMMAND's
/// status (128 + N when a signal N ended it). Where the compositor fails instead (it does not
/// start, or it dies while COMMAND runs) it says so and exits 125; 126 and 127 are COMMAND not
/// executable and not found, as for env(1) and timeout(1).
///
/// The compositor is a child process rather than a thread of this one: its crash cannot take the
/// runner with it unnoticed, and the runner's signal handling is its own.
enum RunCommand {
    static let usage = "usage: compositord run [compositord flags] -- COMMAND [ARGS...]"
    /// How long the compositor may take to print WAYLAND_DISPLAY.
    static let startupSeconds: Int32 = 30

    static func main(_ arguments: [String]) -> Never {
        guard let dash = arguments.firstIndex(of: "--"), dash + 1 < arguments.count else {
            fail(2, arguments.contains("--help") || arguments.contains("-h") ? helpText : "\(usage)\n")
        }
        var flags = Array(arguments[..<dash])
        if !flags.contains("--headless") { flags.insert("--headless", at: 0) }
        // --log FILE is the runner's own: where the compositor's log goes.
        var logPath: String?
        if let i = flags.firstIndex(of: "--log") {
            guard i + 1 < flags.count else { fail(2, "compositord run: --log needs a file\n\(usage)\n") }
            logPath = flags[i + 1]
            flags.removeSubrange(i...(i + 1))
        }
        let command = Array(arguments[(dash + 1)...])

        // Signals wait for sigwait below; children get an empty mask at spawn.
        var handled = sigset_t()
        sigemptyset(&handled)
        for s in forwarded + [SIGCHLD] { sigaddset(&handled, s) }
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        signal(SIGPIPE, SIG_IGN)

        let runtime = privateRuntimeDirectory()
        privateDirectory = runtime
        let original = ProcessInfoEnvironment.current()
        // The compositor's log: the file asked for, else one in the private directory that is
        // shown only if the compositor fails.
        let log = logPath ?? "\(runtime)/compositord.log"
        keptLog = logPath
        let logFD = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard logFD >= 0 else { fail(125, "compositord run: cannot write the log \(log): \(String(cString: strerror(errno)))\n") }
        logFile = log

        // The compositor: its socket in the private directory, its stdout read for the ready line.
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0, fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC) == 0 else { fail(125, "compositord run: pipe: \(String(cString: strerror(errno)))\n") }
        var compositorEnv = original
        compositorEnv["XDG_RUNTIME_DIR"] = runtime
        compositorEnv["WAYLAND_DISPLAY"] = nil
        compositorEnv["WAYLAND_SOCKET"] = nil
        let exe = (try? readlinkSelf()) ?? CommandLine.arguments[0]
        let compositor: pid_t
        switch spawn(exe, ["compositord"] + flags, environment: compositorEnv, stdout: pipeFDs[1], stderr: logFD) {
        case let .success(pid): compositor = pid
        case let .failure(error): fail(125, "compositord run: cannot start \(exe): \(error)\n")
        }
        close(pipeFDs[1])
        guard let display = readReadyLine(pipeFDs[0], log: logFD) else {
            close(pipeFDs[0])
            let status = reap(compositor, waitUpTo: 5)
            fail(125, "compositord run: the compositor did not start (\(describe(status))); COMMAND was not run\n", log: true)
        }
        close(pipeFDs[0])

        // COMMAND: the user's environment, with the compositor's socket.
        var commandEnv = original
        commandEnv["WAYLAND_DISPLAY"] = "\(runtime)/\(display)"
        commandEnv["WAYLAND_SOCKET"] = nil
        if commandEnv["XDG_RUNTIME_DIR"] == nil { commandEnv["XDG_RUNTIME_DIR"] = runtime }
        let child: pid_t
        switch spawn(command[0], command, environment: commandEnv, stdout: nil, searchPath: true) {
        case let .success(pid): child = pid
        case let .failure(error):
            stop(compositor)
            fail(error.code == ENOENT ? 127 : 126, "compositord run: \(command[0]): \(error)\n")
        }

        // Wait for either to end, forwarding signals to COMMAND.
        var commandStatus: Int32?
        var compositorStatus: Int32?
        while commandStatus == nil {
            var info = siginfo_t()
            let s = sigwaitinfo(&handled, &info)
            if s == SIGCHLD {
                if commandStatus == nil, let status = poll(child) { commandStatus = status }
                if compositorStatus == nil, let status = poll(compositor) {
                    compositorStatus = status
                    kill(child, SIGTERM)
                    _ = reap(child, waitUpTo: 10)
                    fail(125, "compositord run: the compositor exited (\(describe(status))) while COMMAND ran; COMMAND was stopped\n", log: true)
                }
            } else if s > 0 {
                kill(child, s)
            }
        }
        let status = commandStatus!
        if compositorStatus == nil {
            let end = stop(compositor)
            if end != 0 { showLog("compositord run: the compositor exited with \(end) at the end\n") }
        }
        cleanUp()
        exit(exitCode(status))
    }

    /// The private runtime directory and the compositor's log, for clean-up and failures.
    nonisolated(unsafe) static var privateDirectory: String?
    nonisolated(unsafe) static var logFile: String?
    nonisolated(unsafe) static var keptLog: String?

    /// Removes the log (unless --log named it) and the private directory (the compositor
    /// removed its socket and lock at SIGTERM).
    static func cleanUp() {
        if let logFile, keptLog == nil { unlink(logFile) }
        if let privateDirectory { rmdir(privateDirectory) }
    }

    /// `message`, then the compositor's log (when it went to the private directory).
    static func showLog(_ message: String) {
        FileHandleStderr.write(message)
        if let keptLog { return FileHandleStderr.write("compositord run: its log is in \(keptLog)\n") }
        guard let logFile, let fp = fopen(logFile, "re") else { return }
        defer { fclose(fp) }
        FileHandleStderr.write("compositord run: the compositor's log:\n")
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, fp) > 0, let line { FileHandleStderr.write(String(cString: line)) }
    }

    static let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    static let helpText = """
        \(usage)

        Starts compositord --headless (with the flags given before --) on a socket in a private
        runtime directory, runs COMMAND with WAYLAND_DISPLAY naming that socket (XDG_RUNTIME_DIR is
        left as it was, or set to the private directory when unset), forwards SIGINT, SIGTERM,
        SIGHUP and SIGQUIT to COMMAND, then stops the compositor and exits with COMMAND's status
        (128+N if signal N ended it). 125: the compositor failed (it did not start, or it exited
        while COMMAND ran); 126: COMMAND is not executable; 127: COMMAND was not found.
        --screenshot FILE.png writes the output as it is when COMMAND has ended (the windows of
        clients it left running). The compositor's log
        goes to --log FILE (a flag of the runner's own), else it is shown only when the
        compositor fails.

        """

    // MARK: processes

    enum SpawnError: Error, CustomStringConvertible {
        case failed(Int32)
        var code: Int32 { if case let .failed(e) = self { return e }; return 0 }
        var description: String { String(cString: strerror(code)) }
    }

    /// posix_spawn(p) with an empty signal mask and default dispositions for the forwarded ones.
    static func spawn(_ path: String, _ argv: [String], environment: [String: String], stdout: Int32?, stderr: Int32? = nil,
                      searchPath: Bool = false) -> Result<pid_t, SpawnError> {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in forwarded + [SIGCHLD, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, STDOUT_FILENO) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, STDERR_FILENO) }

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = searchPath ? posix_spawnp(&pid, path, &actions, &attr, cArgs, cEnv) : posix_spawn(&pid, path, &actions, &attr, cArgs, cEnv)
        return result == 0 ? .success(pid) : .failure(.failed(result))
    }

    /// The wait status of `pid` if it has ended (WNOHANG).
    static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }

    /// Waits up to `seconds` for `pid`, then SIGKILLs it; its wait status.
    @discardableResult
    static func reap(_ pid: pid_t, waitUpTo seconds: Int) -> Int32 {
        for _ in 0..<(seconds * 50) {
            if let status = poll(pid) { return status }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }

    /// SIGTERM (compositord exits 0 on it, writing --screenshot first), then the wait.
    @discardableResult
    static func stop(_ compositor: pid_t) -> Int32 {
        kill(compositor, SIGTERM)
        return exitCode(reap(compositor, waitUpTo: 10))
    }

    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "status \((status >> 8) & 0xFF)" : "signal \(signal)"
    }

    // MARK: set-up

    /// A fresh 0700 directory in $XDG_RUNTIME_DIR, else in /tmp.
    static func privateRuntimeDirectory() -> String {
        var base = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? ""
        var st = stat()
        if base.isEmpty || stat(base, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR { base = "/tmp" }
        var template = Array("\(base)/compositord-run-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fail(125, "compositord run: cannot make a runtime directory in \(base): \(String(cString: strerror(errno)))\n")
        }
        return String(cString: made)
    }

    /// Reads the compositor's stdout until "WAYLAND_DISPLAY=<name>" (its other lines go to
    /// its log); nil at EOF or after `startupSeconds`.
    static func readReadyLine(_ fd: Int32, log: Int32) -> String? {
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var waited: Int32 = 0
        while waited < startupSeconds * 1000 {
            let ready = Glibc.poll(&pfd, 1, 100)
            if ready == 0 { waited += 100; continue }
            if ready < 0 { if errno == EINTR { continue }; return nil }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("WAYLAND_DISPLAY=") { return String(line.dropFirst("WAYLAND_DISPLAY=".count)) }
                var text = Array("\(line)\n".utf8)
                _ = text.withUnsafeMutableBytes { write(log, $0.baseAddress, $0.count) }
            }
        }
        return nil
    }

    static func readlinkSelf() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw SpawnError.failed(errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func fail(_ code: Int32, _ message: String, log: Bool = false) -> Never {
        if log { showLog(message) } else { FileHandleStderr.write(message) }
        cleanUp()
        exit(code)
    }
}

/// The process environment as a dictionary (Foundation-free).
enum ProcessInfoEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { result[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return result
    }
}
