import Compositor
import Logging

/// The compositor options wlcs passes through (what is left of its command line after the
/// module path and gtest's own flags): `--seal-policy`, `--output-device`, `--refresh`,
/// `--width`, `--height`, `--verbose`, `--strict-configure` (no implicit first ack), as `--name=value` or `--name value`. Unknown words are
/// reported and ignored, so a typo does not stop a whole run.
struct Options {
    var configuration = ServerConfiguration()
    var logLevel: Logger.Level = .warning
    var problems: [String] = []

    init(_ arguments: [String]) {
        // The default policy: wlcs's buffers are memfds without MFD_ALLOW_SEALING, which enforce
        // reads under the SIGBUS guard.
        // A sealed memfd: no device probing per test, the same on every machine.
        configuration.outputDevice = .none
        configuration.listen = false
        // wlcs 1.5 commits its windows' first buffer without acking the configure.
        configuration.implicitFirstConfigureAck = true

        var words = arguments[...]
        while let word = words.popFirst() {
            guard word.hasPrefix("--") else { problems.append("ignored argument \(word)"); continue }
            var name = String(word.dropFirst(2)), value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "verbose" { logLevel = .debug; continue }
            if name == "strict-configure" { configuration.implicitFirstConfigureAck = false; continue }
            guard Options.valued.contains(name) else { problems.append("ignored option --\(name)"); continue }
            guard let v = value ?? words.popFirst() else { problems.append("--\(name) needs a value"); continue }
            set(name, v)
        }
    }

    private static let valued: Set<String> = ["seal-policy", "output-device", "refresh", "width", "height"]

    private mutating func set(_ name: String, _ value: String) {
        switch name {
        case "seal-policy":
            if let p = SealPolicy(rawValue: value) { configuration.sealPolicy = p } else { problems.append("--seal-policy must be enforce, strict or guard") }
        case "output-device":
            configuration.outputDevice = OutputDeviceChoice(value)
        case "refresh":
            if let hz = Double(value), (0...1000).contains(hz) { configuration.refreshHz = hz } else { problems.append("--refresh must be 0...1000") }
        case "width":
            if let w = Int32(value), (1...16384).contains(w) { configuration.width = w } else { problems.append("--width must be 1...16384") }
        case "height":
            if let h = Int32(value), (1...16384).contains(h) { configuration.height = h } else { problems.append("--height must be 1...16384") }
        default:
            break
        }
    }
}
