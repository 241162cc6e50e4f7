import CWayland
import Dispatch
import Glibc
import Synchronization
import Syscalls

/// Capture writes into a pool whose file is not shared memory (a disk file: wf-recorder's
/// `/tmp/wf-recorder-shared-XXXXXX`), made off the main thread. Writing such a file can wait: a
/// page not in the page cache is read from the disk first, dirty pages are throttled, and under
/// `--seal-policy guard` a FUSE file waits on its daemon. compositord's main thread never waits
/// on a file a client chose, so it only stages the pixels (the framebuffer is stable only there),
/// a serial queue of the pool's own `pwrite`s them, and the completion comes back on the event
/// loop through an eventfd. A write not done by the deadline has failed, and the writer is then
/// `stalled`: later captures into the pool fail at once instead of queueing behind it.
package final class PoolWriter {
    /// The pixels of one capture, staged, and where each run of them goes in the file.
    package struct Job: Sendable {
        fileprivate var bytes: [UInt8] = []
        /// (offset in the file, length): consecutive runs that meet are merged (a full-width
        /// region with a packed stride is one run).
        fileprivate var runs: [(offset: Int, length: Int)] = []

        private let offset: Int
        private let stride: Int

        /// An empty job for a buffer at `offset` in the file with `stride`.
        package init(offset: Int, stride: Int) {
            self.offset = offset
            self.stride = stride
        }

        /// Stages the pixels of one rectangle (in the buffer's coordinates, 4 bytes a pixel) from
        /// `source`, which gives the address of the captured region's row `y`.
        package mutating func add(x: Int, y: Int, width: Int, height: Int, source: (Int) -> UnsafeRawPointer) {
            let (left, bytesWide) = (x * 4, width * 4)
            for row in y..<(y + height) {
                bytes.append(contentsOf: UnsafeRawBufferPointer(start: source(row) + left, count: bytesWide))
                let at = offset + row * stride + left
                if let last = runs.last, last.offset + last.length == at {
                    runs[runs.count - 1].length += bytesWide
                } else {
                    runs.append((at, bytesWide))
                }
            }
        }

        /// pwrite of every run (short writes continued); false at the first error.
        fileprivate func write(to fd: Int32) -> Bool {
            var staged = 0
            for run in runs {
                var done = 0
                while done < run.length {
                    let n = bytes.withUnsafeBytes { all in
                        Glibc.pwrite(fd, all.baseAddress! + staged + done, run.length - done, off_t(run.offset + done))
                    }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return false }
                    done += n
                }
                staged += run.length
            }
            return true
        }
    }

    /// A dup of the pool's fd, closed when the last write using it is done: the pool (and its fd
    /// number) may go while a write runs.
    fileprivate final class File: Sendable {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { ReceivedFd.close(fd) }  // a FUSE file's close can wait: ReceivedFd knows
    }

    /// The worker's answer: 0 while writing, 1 written, 2 failed; and the eventfd that says it
    /// is there (the worker keeps it open until it has signalled).
    fileprivate final class Outcome: Sendable {
        let state = Atomic<Int>(0)
        let eventFD: Int32
        init(_ fd: Int32) { eventFD = fd }
        deinit { try? Syscall.close(eventFD) }
    }

    /// How long a write may take before the capture fails: a local disk writes 8 MB into the
    /// page cache in a few milliseconds.
    package static let deadlineMs: Int32 = 2000

    /// Staged bytes of all writes not yet done, and their ceiling: a client asking for many
    /// copies into many disk pools at once must not make compositord hold gigabytes of staged
    /// frames (a recorder has one copy in flight: 8 MB at 1080p). Past it a copy fails at once.
    private static let bytesInFlight = Atomic<Int>(0)
    package static let bytesInFlightLimit = 64 << 20

    private let file: File
    private let queue = DispatchQueue(label: "compositord.pool-writer")
    /// A write missed its deadline: it may never finish, and this pool gets no more.
    package private(set) var stalled = false

    /// Dups `fd`; nil when no descriptor is left for the dup.
    package init?(fd: Int32) {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { return nil }
        file = File(copy)
    }

    /// Starts writing `job` and calls `completion` on the event loop `loop` when it is written
    /// (true), failed, or missed the deadline (false). Returns the write in flight (cancel it to
    /// drop the callback), or nil after calling `completion(false)` at once (stalled, past
    /// `bytesInFlightLimit`, or no eventfd).
    package func write(_ job: Job, loop: OpaquePointer, completion: @escaping (Bool) -> Void) -> PendingWrite? {
        let size = job.bytes.count
        guard !stalled, Self.bytesInFlight.load(ordering: .relaxed) + size <= Self.bytesInFlightLimit,
              let eventFD = try? Syscall.eventfd() else { completion(false); return nil }
        let outcome = Outcome(eventFD)
        let pending = PendingWrite(loop: loop, outcome: outcome) { [weak self] ok, missedDeadline in
            if missedDeadline { self?.stalled = true }
            completion(ok)
        }
        guard pending.armed else { completion(false); return nil }
        let file = self.file
        Self.bytesInFlight.add(size, ordering: .relaxed)
        queue.async {
            let ok = job.write(to: file.fd)
            Self.bytesInFlight.subtract(size, ordering: .relaxed)
            outcome.state.store(ok ? 1 : 2, ordering: .releasing)
            try? Syscall.writeCounter(outcome.eventFD, 1)
        }
        return pending
    }

    /// One write in flight, as the event loop sees it: the eventfd's source and the deadline.
    package final class PendingWrite {
        private let outcome: Outcome
        private var source: OpaquePointer?
        private var timer: OpaquePointer?
        private var completion: ((Bool, Bool) -> Void)?
        fileprivate var armed: Bool { source != nil && timer != nil }

        fileprivate init(loop: OpaquePointer, outcome: Outcome, completion: @escaping (_ ok: Bool, _ missedDeadline: Bool) -> Void) {
            self.outcome = outcome
            self.completion = completion
            let user = Unmanaged.passUnretained(self).toOpaque()
            // libwayland watches its own dup of the eventfd; the worker signals the original.
            source = wl_event_loop_add_fd(loop, outcome.eventFD, UInt32(WL_EVENT_READABLE), { _, _, data in
                let w = Unmanaged<PendingWrite>.fromOpaque(data!).takeUnretainedValue()
                w.finish(w.outcome.state.load(ordering: .acquiring) == 1, missedDeadline: false)
                return 0
            }, user)
            timer = wl_event_loop_add_timer(loop, { data in
                Unmanaged<PendingWrite>.fromOpaque(data!).takeUnretainedValue().finish(false, missedDeadline: true)
                return 0
            }, user)
            if let timer { wl_event_source_timer_update(timer, PoolWriter.deadlineMs) }
            if !armed { cancel() }
        }

        private func finish(_ ok: Bool, missedDeadline: Bool) {
            guard let completion else { return }
            cancel()
            completion(ok, missedDeadline)
        }

        /// Stops watching; no callback. The write itself runs to its end on the worker.
        package func cancel() {
            completion = nil
            if let source { wl_event_source_remove(source) }
            if let timer { wl_event_source_remove(timer) }
            source = nil
            timer = nil
        }

        deinit { cancel() }
    }
}
