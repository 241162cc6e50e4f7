import ClientKit
import Synchronization
import WaylandTestSupport

/// A well-behaved window that measures its own frame rate: it redraws on every frame callback and
/// records when each callback arrived. Runs on its own thread and connection, so the load on the
/// other connections of this process cannot hold its events back.
final class Observer: Sendable {
    struct Result: Sendable {
        /// CLOCK_MONOTONIC seconds of each frame callback.
        var times: [Double] = []
        var error: String?

        /// Frame callbacks in each whole second from the first callback on.
        var perSecond: [Int] {
            guard let first = times.first, let last = times.last, last - first >= 1 else { return [] }
            var counts = [Int](repeating: 0, count: Int(last - first))
            for t in times {
                let slot = Int(t - first)
                if slot < counts.count { counts[slot] += 1 }
            }
            return counts
        }
    }

    private let displayName: String?
    private let timeout: Duration
    private let stopRequested = Atomic<Bool>(false)
    private let firstFrame = Atomic<Bool>(false)
    private let result = Mutex(Result())

    init(displayName: String?, timeout: Duration) {
        self.displayName = displayName
        self.timeout = timeout
    }

    var hasFirstFrame: Bool { firstFrame.load(ordering: .acquiring) }
    func stop() { stopRequested.store(true, ordering: .releasing) }
    var outcome: Result { result.withLock { $0 } }

    /// The thread's body: renders until `stop()`.
    func run() {
        do {
            try render()
        } catch {
            result.withLock { $0.error = "\(error)" }
        }
    }

    private func render() throws {
        let context = try ClientContext(displayName: displayName, timeout: timeout)
        let toplevel = Toplevel(context: context, title: "stress-client observer", appID: "stress-client-observer")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the observer's first configure")
        let buffers = try BufferSet(shm: context.shm, width: 64, height: 64, format: .xrgb8888, count: 2)
        let connection = context.connection
        var frame = 0
        // Short waits, so a stop request is seen at once; a frame that never comes is a hang the
        // per-second figures show (and `timeout` ends).
        let slice = Duration.milliseconds(50)
        var lastProgress = ContinuousClock.now
        while !stopRequested.load(ordering: .acquiring) {
            guard let buffer = try buffers.waitForFreeBuffer(timeout: slice) else {
                try checkStalled(since: lastProgress, waitingFor: "a buffer release")
                continue
            }
            DemoPattern.draw(into: buffer, frame: frame)
            let callback = toplevel.present(buffer)!
            frame += 1
            while !callback.isDone && !stopRequested.load(ordering: .acquiring) {
                try connection.wait(timeout: slice) { callback.isDone }
                if !callback.isDone { try checkStalled(since: lastProgress, waitingFor: "a frame callback") }
            }
            guard callback.isDone else { break }
            let now = monotonicSeconds()
            result.withLock { $0.times.append(now) }
            firstFrame.store(true, ordering: .releasing)
            lastProgress = .now
        }
    }

    private func checkStalled(since: ContinuousClock.Instant, waitingFor what: String) throws {
        if ContinuousClock.now - since > timeout { throw ClientError.timedOut(waitingFor: "\(what) (observer)") }
    }
}

/// Minimum and median of frame counts.
func summary(_ counts: [Int]) -> (min: Int, median: Int) {
    guard !counts.isEmpty else { return (0, 0) }
    let sorted = counts.sorted()
    return (sorted[0], sorted[sorted.count / 2])
}
