import SystemPackage
import CWayland

/// A client mapping whose reads may fault (a file that can still shrink, a dma-buf from an
/// exporter we do not trust): every read runs under the C SIGBUS guard. After a fault the range
/// holds zero pages and stays marked `faulted`; further reads are refused without touching it.
package final class GuardedRange {
    private let access: UnsafeMutablePointer<cw_guarded_access>
    package private(set) var faulted = false

    package init(address: UnsafeMutableRawPointer, length: Int, writable: Bool = false) {
        access = .allocate(capacity: 1)
        access.initialize(to: cw_guarded_access(address: address, length: length, faulted: 0, writable: writable ? 1 : 0))
    }

    deinit { access.deallocate() }

    /// The mapping moved or grew (wl_shm_pool.resize).
    package func update(address: UnsafeMutableRawPointer, length: Int) {
        access.pointee.address = address
        access.pointee.length = length
    }

    /// Runs `body` under the guard; false when it faulted (now or before).
    package func read(_ body: () -> Void) -> Bool {
        guard !faulted else { return false }
        cw_sigbus_guard_begin(access)
        body()
        if cw_sigbus_guard_end() != 0 { faulted = true }
        return !faulted
    }

    /// The process-wide handler, installed once when first needed; 0 or -errno.
    package static func install() -> Int32 { cw_sigbus_guard_install() }
}

/// A writable shared mapping kept for capture writes (screencopy into a client's pool or
/// dma-buf), with its SIGBUS guard range: made once, kept while its buffer or pool lives.
package final class WritableMapping {
    private var mapping: Mapping
    private let guardRange: GuardedRange

    package init(fd: Int32, length: Int) throws(Errno) {
        mapping = try Mapping(fd: fd, length: length, writable: true)
        guardRange = GuardedRange(address: mapping.base, length: mapping.length, writable: true)
    }

    /// Follows its pool's growth (mremap, in place or moved).
    package func grow(to length: Int) throws(Errno) {
        try mapping.grow(to: length)
        guardRange.update(address: mapping.base, length: mapping.length)
    }

    /// Runs `body` with the mapping's address, under the guard when `guarded`; false when the
    /// write faulted.
    package func write(guarded: Bool, _ body: (UnsafeMutableRawPointer) -> Void) -> Bool {
        let base = mapping.base
        guard guarded else { body(base); return true }
        return guardRange.read { body(base) }
    }
}
