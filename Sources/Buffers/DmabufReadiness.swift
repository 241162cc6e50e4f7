import CDRM
import CWayland
import Glibc
import Syscalls

/// Waiting for a dma-buf's implicit fences without blocking (issue 16, items 3 and 4).
///
/// `DMA_BUF_IOCTL_SYNC(START)` sleeps until the buffer's fences signal; a client can attach a fence
/// that takes seconds (vgem signals its own after 10 s) or, through `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`,
/// any fence to any dma-buf. So compositord never starts a CPU access before the buffer polls
/// ready, and waits for that in the event loop, as Mutter (≥ 44), KWin and Smithay do:
///
/// - at the commit (or the screencopy request) the fences are snapshotted with
///   `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` (read access: the writers' fences; write access: all of
///   them) and the sync_file is watched by the event loop; a kernel without the ioctl (before 6.0)
///   has the dma-buf fd itself watched (`POLLIN` is readiness for reading, `POLLOUT` for writing);
/// - a buffer still not ready after `ServerConfiguration.fenceDeadlineMs` is the client's fault;
/// - a surface with explicit sync (linux-drm-syncobj-v1) waits for its acquire point instead.
package enum DmabufReadiness {
    package enum Access {
        case read, write
        package var syncFlag: UInt32 { self == .read ? UInt32(CDRM_SYNC_READ) : UInt32(CDRM_SYNC_WRITE) }
        package var pollEvent: Int16 { self == .read ? Int16(POLLIN) : Int16(POLLOUT) }
        package var loopEvent: UInt32 { self == .read ? UInt32(WL_EVENT_READABLE) : UInt32(WL_EVENT_WRITABLE) }
    }

    /// Whether `fd` (a dma-buf) can be accessed now without waiting: a zero-timeout poll.
    package static func isReady(_ fd: Int32, for access: Access) -> Bool {
        // An error (an fd that is not pollable) counts as ready: there is nothing to wait for.
        guard let revents = try? Syscall.pollNow(fd, events: access.pollEvent) else { return true }
        return revents != 0
    }
}

/// One wait for a set of dma-bufs to become ready, with a deadline: calls `completion(true)` from
/// the event loop once every one polls ready, or `completion(false)` at the deadline. `cancel()`
/// stops it without calling back. Never blocks.
package final class DmabufWait {
    private let loop: OpaquePointer
    private var remaining = 0
    private var timer: OpaquePointer?
    private var completion: ((Bool) -> Void)?

    /// Returns nil when every fd is ready already (no wait needed).
    package static func start(loop: OpaquePointer, fds: [Int32], access: DmabufReadiness.Access, deadlineMs: Int32,
                      exportSyncFile: Bool = true, completion: @escaping (Bool) -> Void) -> DmabufWait? {
        let wait = DmabufWait(loop: loop)
        for fd in fds {
            // Snapshot the fences now: a fence added later is not this commit's to wait for.
            if exportSyncFile, let sync = try? valueOrNegatedErrno(cdrm_dmabuf_export_sync_file(fd, access.syncFlag)) {
                if DmabufReadiness.isReady(sync, for: .read) { try? Syscall.close(sync); continue }
                wait.watch(sync, events: UInt32(WL_EVENT_READABLE), owned: true)
            } else {
                // No EXPORT_SYNC_FILE (or not a dma-buf that has it): the dma-buf fd itself.
                if DmabufReadiness.isReady(fd, for: access) { continue }
                wait.watch(fd, events: access.loopEvent, owned: false)
            }
        }
        return wait.arm(deadlineMs: deadlineMs, completion: completion)
    }

    /// Waits for an explicit-sync acquire point (linux-drm-syncobj-v1), which replaces the
    /// implicit fences: an eventfd the kernel signals with the point. Returns nil when the point
    /// has signalled already, or when the kernel refuses the eventfd (compositord's reads never
    /// wait on fences, so showing the buffer early costs only that client's content).
    package static func start(loop: OpaquePointer, point: SyncobjPoint, deadlineMs: Int32,
                      completion: @escaping (Bool) -> Void) -> DmabufWait? {
        if point.isSignalled { return nil }
        guard let event = point.signalledEventfd() else { return nil }
        let wait = DmabufWait(loop: loop)
        wait.watch(event, events: UInt32(WL_EVENT_READABLE), owned: true)
        return wait.arm(deadlineMs: deadlineMs, completion: completion)
    }

    /// Starts the deadline once the sources are watched; nil when nothing is left to wait for.
    private func arm(deadlineMs: Int32, completion: @escaping (Bool) -> Void) -> DmabufWait? {
        guard remaining > 0 else { return nil }
        self.completion = completion
        let user = Unmanaged.passUnretained(self).toOpaque()
        timer = wl_event_loop_add_timer(loop, { data in
            Unmanaged<DmabufWait>.fromOpaque(data!).takeUnretainedValue().finish(false)
            return 0
        }, user)
        if let timer { wl_event_source_timer_update(timer, deadlineMs) }
        return self
    }

    private init(loop: OpaquePointer) { self.loop = loop }

    /// One watched fd (libwayland watches a dup of it, so the callback cannot name it by fd).
    private final class Watch {
        package unowned let wait: DmabufWait
        package var source: OpaquePointer?
        package init(_ wait: DmabufWait) { self.wait = wait }
    }
    private var watches: [Watch] = []

    /// Watches `fd`; an `owned` one (an exported sync_file) is closed at once: the event source
    /// holds its own duplicate (wl_event_loop_add_fd), so each wait costs one descriptor.
    private func watch(_ fd: Int32, events: UInt32, owned: Bool) {
        defer { if owned { try? Syscall.close(fd) } }
        let w = Watch(self)
        guard let source = wl_event_loop_add_fd(loop, fd, events, { _, _, data in
            let w = Unmanaged<Watch>.fromOpaque(data!).takeUnretainedValue()
            w.wait.oneReady(w)
            return 0
        }, Unmanaged.passUnretained(w).toOpaque()) else { return }  // cannot watch it (no fd left): treated as ready
        w.source = source
        watches.append(w)
        remaining += 1
    }

    /// One source fired: it is removed (it is level-triggered and would fire again).
    private func oneReady(_ w: Watch) {
        guard let source = w.source else { return }
        wl_event_source_remove(source)
        w.source = nil
        remaining -= 1
        if remaining <= 0 { finish(true) }
    }

    private func finish(_ ready: Bool) {
        guard let completion else { return }
        cancel()
        completion(ready)
    }

    /// Stops watching (the event sources close their descriptors); no callback.
    package func cancel() {
        completion = nil
        for w in watches { if let s = w.source { wl_event_source_remove(s) }; w.source = nil }
        watches = []
        if let timer { wl_event_source_remove(timer) }
        timer = nil
    }

    deinit { cancel() }
}
