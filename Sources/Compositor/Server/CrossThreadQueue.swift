import Buffers
import CWayland
import Dispatch
import Glibc
import Syscalls
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// The queue behind `Server.perform`: jobs handed over under a lock, an eventfd on the server's
/// wl_event_loop that wakes it, and a semaphore per job that the caller waits on.
///
/// @unchecked Sendable: the job list, the closed flag and the fd are only touched with `mutex`
/// held; the event source and the display are only touched on the server's thread.
package final class CrossThreadQueue: @unchecked Sendable {
    private final class Job {
        package let body: () -> Void
        package let done = DispatchSemaphore(value: 0)
        /// Written before `done` is signalled, read after it was waited for.
        package var ran = false
        package init(_ body: @escaping () -> Void) { self.body = body }
    }

    private let display: OpaquePointer
    private let owner = pthread_self()
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var jobs: [Job] = []
    private var closed = false
    private var eventFD: Int32
    private var source: OpaquePointer?

    /// Must be created on the server's thread (the one that will run its loop).
    package init(display: OpaquePointer) {
        self.display = display
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        eventFD = (try? Syscall.eventfd()) ?? -1
        guard eventFD >= 0 else {
            // Without the fd only same-thread calls work; other threads get false.
            closed = true
            return
        }
        source = wl_event_loop_add_fd(wl_display_get_event_loop(display), eventFD, UInt32(WL_EVENT_READABLE), { _, _, data in
            Unmanaged<CrossThreadQueue>.fromOpaque(data!).takeUnretainedValue().runJobs()
            return 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        close()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func perform(_ body: @escaping () -> Void) -> Bool {
        if pthread_equal(owner, pthread_self()) != 0 {
            let open = locked { !closed }
            if open { body(); wl_display_flush_clients(display) }
            return open
        }
        let job = Job(body)
        let queued = locked { () -> Bool in
            guard !closed else { return false }
            jobs.append(job)
            // Written under the lock so `close()` cannot close (and the number be reused) in between.
            try? Syscall.writeCounter(eventFD, 1)
            return true
        }
        guard queued else { return false }
        job.done.wait()
        return job.ran
    }

    /// Stops accepting work; callers still waiting return false. Server thread only, before the
    /// display is destroyed.
    package func close() {
        if let source { wl_event_source_remove(source) }
        source = nil
        let abandoned = locked { () -> [Job] in
            closed = true
            if eventFD >= 0 { try? Syscall.close(eventFD) }
            eventFD = -1
            defer { jobs = [] }
            return jobs
        }
        for job in abandoned { job.done.signal() }
    }

    private func runJobs() {
        let batch = locked { () -> [Job] in
            _ = try? Syscall.readCounter(eventFD)
            defer { jobs = [] }
            return jobs
        }
        for job in batch {
            job.body()
            job.ran = true
        }
        wl_display_flush_clients(display)
        for job in batch { job.done.signal() }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
