import Glibc

/// The times at which frame callbacks arrived, read from CLOCK_MONOTONIC (the clock of
/// `/proc` samplers such as Python's `time.monotonic()`, so scripts/bench can count the frames
/// that fall inside its measurement window).
struct FrameRecorder {
    /// Seconds on CLOCK_MONOTONIC.
    private(set) var times: [Double] = []

    init(expectedFrames: Int) {
        times.reserveCapacity(expectedFrames)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    mutating func record() { times.append(Self.now()) }

    var count: Int { times.count }

    /// Milliseconds between consecutive callbacks.
    var intervals: [Double] {
        guard times.count > 1 else { return [] }
        return (1..<times.count).map { (times[$0] - times[$0 - 1]) * 1000 }
    }

    /// The `p`-th percentile (0...100, nearest rank) of `values`; 0 when empty.
    static func percentile(_ p: Double, of values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// One line per callback, so a bench can pick the frames of any window.
    func write(to path: String) throws {
        var text = ""
        text.reserveCapacity(times.count * 18)
        for t in times { text += fixed(t, digits: 6) + "\n" }
        guard let file = fopen(path, "w") else { throw WriteError(path: path, errno: errno) }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw WriteError(path: path, errno: errno) }
    }

    struct WriteError: Error, CustomStringConvertible {
        let path: String
        let errno: Int32
        var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
    }
}
