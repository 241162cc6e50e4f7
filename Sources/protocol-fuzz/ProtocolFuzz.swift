import ArgumentParser
import Glibc

@main
struct ProtocolFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protocol-fuzz",
        abstract: "Attacks a real compositord over its socket with random requests and raw bytes, and checks that it holds.",
        discussion: """
            Starts compositord --headless in a private runtime directory, connects an observer (a \
            window redrawing on every frame callback) and then runs fuzz sessions, --clients at a \
            time, each on its own connection: well-typed random requests built from the wl_interface \
            tables (binding every global at random versions, building windows, sub-surfaces, popups, \
            captures and dma-buf params first, then mutating them with hostile values, bad object \
            ids, wrong opcodes, missing and extra fds) or raw bytes (garbage, truncated headers, \
            sizes that lie, 0-28 fds per sendmsg).

            Oracle: each session ends with a protocol error followed by a hang-up, a hang-up, or an \
            answer to wl_display.sync (raw sessions may also leave the compositor waiting for the \
            rest of a message, if the observer keeps running); the observer keeps getting frames \
            and replies; compositord stays alive, its fd count returns to the baseline once the \
            fuzz clients are gone, and it exits 0 on SIGTERM without a sanitizer report.

            Prints the seed, a histogram of protocol errors (interface.code) and a summary line. \
            Every crash or hang writes the seed, replay commands and the request traces to \
            --artifacts. Exit status: 0 pass, 1 failure, 2 could not run.
            """
    )

    @Option(help: "Seed (default: from the clock; printed either way).")
    var seed: UInt64?

    @Option(help: "Sessions to run.")
    var iterations = 1000

    @Option(help: "Stop starting sessions after this many seconds.")
    var duration: Double?

    @Option(help: "Index of the first session (with --iterations 1: replay one session of a seed).")
    var firstSession = 0

    @Option(help: "Fuzz clients connected at once.")
    var clients = 3

    @Option(help: "Fraction of sessions that send raw bytes instead of requests.")
    var rawFraction = 0.25

    @Option(help: "Seconds a well-formed request stream may wait for wl_display.sync (longer: a hang).")
    var replyTimeout = 20.0

    @Option(help: "Seconds a raw session waits for an answer before it counts as stalled.")
    var stallTimeout = 1.0

    @Option(help: "Seconds the observer may go without a frame callback or a reply (longer: a hang).")
    var hangTimeout = 20.0

    @Option(help: "The compositord executable (default: next to this one).")
    var compositord: String?

    @Option(name: .customLong("compositord-arg"), parsing: .unconditionalSingleValue, help: "An extra compositord argument (repeatable), e.g. --compositord-arg=--seal-policy=guard.")
    var compositordArguments: [String] = []

    @Option(help: "Directory for crash and hang reports.")
    var artifacts = "."

    @Flag(help: "After a crash or hang, restart compositord and go on (default: stop).")
    var keepGoing = false

    @Flag(help: "Print every protocol error and progress lines.")
    var verbose = false

    @Option(help: ArgumentHelp("Write every session's request trace to this directory (session-N.txt).", valueName: "dir"))
    var traceDirectory: String?

    @Option(help: ArgumentHelp("Keep compositord's stdout and stderr in this directory.", valueName: "dir"))
    var logDirectory: String?

    func validate() throws {
        guard iterations > 0, clients > 0, clients <= 64 else { throw ValidationError("--iterations and --clients must be positive (clients at most 64)") }
        guard (0...1).contains(rawFraction) else { throw ValidationError("--raw-fraction must be between 0 and 1") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let seed = self.seed ?? UInt64(ts.tv_sec) &* 1_000_003 &+ UInt64(ts.tv_nsec)
        let exe = compositord ?? Self.sibling("compositord")
        print("protocol-fuzz: seed \(seed), \(iterations) sessions\(duration.map { " or \($0) s" } ?? ""), \(clients) at a time, compositord \(exe) \(compositordArguments.joined(separator: " "))")
        let options = FuzzRun.Options(
            seed: seed, iterations: iterations, firstSession: firstSession, duration: duration, clients: clients,
            rawFraction: rawFraction, replyTimeout: replyTimeout, stallTimeout: stallTimeout, hangTimeout: hangTimeout,
            compositord: exe, compositordArguments: compositordArguments, artifacts: artifacts, keepGoing: keepGoing,
            verbose: verbose, traceDirectory: traceDirectory, logDirectory: logDirectory)
        let report: Report
        do {
            report = try FuzzRun(options: options).run()
        } catch {
            print("protocol-fuzz: cannot run: \(error)")
            throw ExitCode(2)
        }
        print(report.render(seed: seed))
        if !report.passed { throw ExitCode(1) }
    }

    /// A file next to this executable (swift build puts every product in one folder).
    static func sibling(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return name }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) + "/" + name
    }
}
