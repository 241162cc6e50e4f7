/// What a run saw: sessions and their outcomes, the protocol errors by interface and code, the
/// observer's frames, compositord's fds and memory, and every failure.
struct Report {
    var sessions: [String: Int] = [:]
    var outcomes: [String: Int] = [:]
    var requests = 0, bytes = 0, fdsSent = 0, fdsReceived = 0, events = 0
    struct ErrorSeen { var count = 0; let example: String; let session: Int }
    var errors: [String: ErrorSeen] = [:]
    var failures: [String] = []
    /// Hang-ups without an error event, by what the socket said.
    var disconnects: [String: Int] = [:]
    var crashes = 0, hangs = 0, fdLeaks = 0, sanitizerReports = 0, badExits = 0
    var restarts = 0
    var observerFrames = 0, observerRoundtrips = 0
    var longestFrameGap = 0.0, longestRoundtrip = 0.0
    var fdBaseline = 0, fdEnd = 0
    var rssBaselineKiB = 0, rssPeakKiB = 0, rssEndKiB = 0
    var mapsBaseline = 0, mapsEnd = 0
    var elapsed = 0.0

    var passed: Bool { failures.isEmpty }
    var errorInterfaces: Set<String> { Set(errors.keys.map { String($0.split(separator: ".").first ?? "") }) }

    mutating func record(_ session: FuzzSession) {
        sessions[session.kind, default: 0] += 1
        let outcome = session.outcome ?? .abandoned
        outcomes["\(session.kind) \(outcome.label)", default: 0] += 1
        if case .disconnected(let why) = outcome { disconnects[why, default: 0] += 1 }
        requests += session.requestCount
        let c = session.connection
        bytes += c.bytesSent
        fdsSent += c.fdsSent
        fdsReceived += c.fdsReceived
        events += c.eventsReceived
        if case .protocolError(let e) = outcome {
            errors[e.key, default: ErrorSeen(example: e.message, session: session.index)].count += 1
        }
    }

    func render(seed: UInt64) -> String {
        var out: [String] = []
        let total = sessions.values.reduce(0, +)
        out.append("sessions: \(total) (" + sessions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ") in \(String(format1: elapsed)) s")
        out.append("requests: \(requests), bytes: \(bytes), fds sent: \(fdsSent), events: \(events), fds received: \(fdsReceived)")
        out.append("outcomes: " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        if !disconnects.isEmpty {
            out.append("hang-ups without an error: " + disconnects.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("protocol errors by interface.code (\(errors.count) kinds, \(errorInterfaces.count) interfaces):")
        for (key, e) in errors.sorted(by: { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }) {
            let example = e.example.count > 90 ? String(e.example.prefix(90)) + "…" : e.example
            out.append("  \(key.padding(44)) \(String(e.count).leftPadding(6))  \"\(example)\"")
        }
        out.append("observer: \(observerFrames) frames, longest gap \(Int(longestFrameGap * 1000)) ms, \(observerRoundtrips) roundtrips, longest \(Int(longestRoundtrip * 1000)) ms")
        out.append("compositord: fds baseline \(fdBaseline), end \(fdEnd); rss baseline \(rssBaselineKiB) KiB, peak \(rssPeakKiB) KiB, end \(rssEndKiB) KiB; mappings baseline \(mapsBaseline), end \(mapsEnd); restarts \(restarts)")
        for f in failures { out.append("FAILURE: \(f)") }
        func outcome(_ key: String) -> Int { outcomes[key] ?? 0 }
        out.append("summary: seed=\(seed) sessions=\(total) typed=\(sessions["typed"] ?? 0) raw=\(sessions["raw"] ?? 0) typed_errors=\(outcome("typed protocol-error")) raw_errors=\(outcome("raw protocol-error")) raw_hangups=\(outcome("raw disconnected")) typed_alive=\(outcome("typed alive")) requests=\(requests) errors=\(errors.values.reduce(0) { $0 + $1.count }) error_kinds=\(errors.count) error_interfaces=\(errorInterfaces.count) crashes=\(crashes) hangs=\(hangs) fd_leaks=\(fdLeaks) sanitizer_reports=\(sanitizerReports) bad_exits=\(badExits) fd_baseline=\(fdBaseline) fd_end=\(fdEnd) observer_frames=\(observerFrames) result=\(passed ? "PASS" : "FAIL")")
        return out.joined(separator: "\n")
    }
}

extension String {
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }

    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
