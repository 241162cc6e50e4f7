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

/// The writable mapping capture writes (screencopy into a client's pool or dma-buf) go through,
/// with its SIGBUS guard range: made at the first write and kept while its pool or buffer lives,
/// so a consumer copying every frame into the same buffer costs no mmap, fresh page faults and
/// munmap per frame. A file that refuses a writable mapping (F_SEAL_WRITE) is not asked again.
package final class WritableMapping {
    private final class Mapped {
        var mapping: Mapping
        let guardRange: GuardedRange
        init(fd: Int32, length: Int) throws(Errno) {
            mapping = try Mapping(fd: fd, length: length, writable: true)
            guardRange = GuardedRange(address: mapping.base, length: mapping.length, writable: true)
        }
    }
    /// Owned by the pool or buffer this belongs to.
    private let fd: Int32
    private var mapped: Mapped?
    private var refused = false

    package init(fd: Int32) { self.fd = fd }

    /// A guarded write took SIGBUS: the file shrank under the mapping (which now holds zeros).
    package var faulted: Bool { mapped?.guardRange.faulted ?? false }

    /// Runs `body` with the address of the first `length` bytes mapped writable, under the guard
    /// when `guarded`; false when the file cannot be mapped writable or the write faulted.
    package func write(length: Int, guarded: Bool, _ body: (UnsafeMutableRawPointer) -> Void) -> Bool {
        if mapped == nil {
            guard !refused else { return false }
            do throws(Errno) { mapped = try Mapped(fd: fd, length: length) } catch {
                refused = true
                return false
            }
        }
        guard let mapped else { return false }
        let base = mapped.mapping.base
        guard guarded else { body(base); return true }
        return mapped.guardRange.read { body(base) }
    }

    /// Follows its pool's growth (mremap, in place or moved); when that fails the mapping is
    /// dropped and made again at the next write.
    package func grow(to length: Int) {
        guard let mapped else { return }
        do throws(Errno) {
            try mapped.mapping.grow(to: length)
            mapped.guardRange.update(address: mapped.mapping.base, length: mapped.mapping.length)
        } catch {
            self.mapped = nil
        }
    }
}
