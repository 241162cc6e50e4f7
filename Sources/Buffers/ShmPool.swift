import CWayland
import Glibc
import Syscalls
import SystemPackage

/// A client's shared-memory pool: the fd it sent through `wl_shm.create_pool`, what kind of file
/// that is (PoolFile), and our read-only mapping of it. Buffers keep their pool alive (ARC), so a
/// buffer outlives `wl_shm_pool.destroy` as the spec requires.
///
/// The seal policy decides at create and at every resize whether the pool is accepted and
/// whether reads need the SIGBUS guard; libwayland decides "SIGBUS impossible" once at create
/// and never again, which a resize past the end of a sealed file defeats.
package final class ShmPool {
    /// Why a pool cannot be created or resized; `code` is the wl_shm error to post, `rule` the
    /// statistics key, `file` what was sent.
    package struct Failure: Error, CustomStringConvertible {
        package let code: wl_shm_error
        package let rule: String
        package let message: String
        package var file: PoolFile? = nil
        package var description: String { message }
    }

    /// The client's fd, closed with the pool (OwnedFD).
    package let fd: OwnedFD
    package private(set) var file: PoolFile
    /// Reads must happen under the SIGBUS guard (the file could still shrink).
    package private(set) var guarded: Bool
    /// A disk file under `enforce`: a capture target only. Its buffers are never shown (a read
    /// could wait for the disk) and captures are written into it off the main thread.
    package let captureOnly: Bool
    /// A guarded read faulted: the mapping now holds zero pages and the client is being dropped.
    package var faulted: Bool { guardRange.faulted }
    /// The pool's read-only mapping (grown in place or moved by resize).
    private var mapping: Mapping
    package var data: UnsafeMutableRawPointer { mapping.base }
    package var size: Int { mapping.length }
    private let guardRange: GuardedRange
    /// The writable mapping capture targets in this pool are written through (screencopy),
    /// made at the first capture and kept with the pool; grown with it; guarded like reads.
    private let capture: WritableMapping
    /// Captures into a file that is not shared memory go through this, off the main thread
    /// (made at the first such capture).
    private var writer: PoolWriter?
    /// What this pool holds on its client's limits (ClientUsage): its size and one object,
    /// given back when the mapping goes.
    package var charge: Charge?

    /// Takes ownership of `fd` (closed on failure too).
    package init(fd rawFD: Int32, size: Int32, policy: SealPolicy) throws(Failure) {
        fd = OwnedFD(adopting: rawFD)  // closed on every way out, failures included
        let (file, guarded, captureOnly) = try ShmPool.admit(fd: rawFD, size: size, policy: policy, resizing: false)
        do throws(Errno) {
            mapping = try Mapping(fd: rawFD, length: Int(size))
        } catch {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, rule: "mmap-failed", message: "cannot mmap the pool fd: \(error)", file: file)
        }
        self.file = file
        self.guarded = guarded
        self.captureOnly = captureOnly
        guardRange = GuardedRange(address: mapping.base, length: mapping.length)
        capture = WritableMapping(fd: rawFD)
    }

    /// `wl_shm_pool.resize`: pools only grow, and seals and file size are checked again.
    package func resize(to newSize: Int32, policy: SealPolicy) throws(Failure) {
        guard Int(newSize) >= size else {
            throw Failure(code: WL_SHM_ERROR_INVALID_STRIDE, rule: "shrinking-resize",
                          message: "pool cannot shrink from \(size) to \(newSize) bytes")
        }
        var (file, stillGuarded, _) = try ShmPool.admit(fd: fd.rawValue, size: newSize, policy: policy, resizing: true)
        if self.file.kind == .sealedByCompositor && file.kind == .sealedMemfd { file.kind = .sealedByCompositor }  // our seal, still
        guard Int(newSize) > size else { return }
        do throws(Errno) {
            try mapping.grow(to: Int(newSize))
        } catch {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, rule: "mremap-failed",
                          message: "cannot remap the pool to \(newSize) bytes: \(error)", file: file)
        }
        self.file = file
        guarded = guarded && stillGuarded  // seals are never removed; a guard is never dropped wrongly
        guardRange.update(address: mapping.base, length: mapping.length)
        capture.grow(to: Int(newSize))
        charge?.grow(to: size)
    }

    /// Runs `body` (which reads the mapping) under the SIGBUS guard when the pool needs it.
    /// Returns false when the read faulted.
    package func read(_ body: () -> Void) -> Bool {
        guard guarded else { body(); return true }
        return guardRange.read(body)
    }

    /// Whether the file now ends before byte `end` (a buffer's extent). Only a guarded pool's
    /// file can shrink, so sealed pools are answered without a system call. The size comes from
    /// the VFS's cache: exact for shared memory, and a FUSE pool (`guard` only) is not asked.
    package func fileEnds(before end: Int) -> Bool {
        guard guarded, !faulted else { return false }
        guard let fileSize = try? Syscall.statxCached(fd.rawValue).size else { return false }
        return Int(fileSize) < end
    }

    /// Runs `body` with the pool's writable mapping (screencopy writes into client buffers; made
    /// once, kept with the pool), guarded like reads when the file could shrink. False when the
    /// file cannot be mapped writable (e.g. F_SEAL_WRITE) or the write faulted.
    package func write(_ body: (UnsafeMutableRawPointer) -> Void) -> Bool {
        capture.write(length: size, guarded: guarded, body)
    }

    /// A capture's write into the pool took SIGBUS: its client shrank the file under it.
    package var captureFaulted: Bool { capture.faulted }

    /// Whether captures into this pool are written off the main thread (`offThreadWriter`): its
    /// file is not shared memory, so writing it could wait (a disk; under `guard`, FUSE or NFS).
    package var writesOffThread: Bool { file.kind == .diskFile || file.kind == .regularFile }

    /// The pool's off-thread writer, made at its first use; nil when no fd is left to dup.
    package var offThreadWriter: PoolWriter? {
        if writer == nil { writer = PoolWriter(fd: fd.rawValue) }
        return writer
    }

    /// Classifies the file and applies the policy's decision (sealing it on the client's behalf
    /// when the policy says so, before anything is mapped), then the size rule that holds for
    /// every policy: the pool must not be larger than its file, or reads past the end fault. The
    /// size is read after sealing, so for a sealed file it can no longer change under us.
    private static func admit(fd: Int32, size: Int32, policy: SealPolicy, resizing: Bool) throws(Failure) -> (PoolFile, guarded: Bool, captureOnly: Bool) {
        var file = PoolFile.classify(fd: fd)
        guard size > 0 else {
            throw Failure(code: WL_SHM_ERROR_INVALID_STRIDE, rule: "non-positive-size",
                          message: "pool size \(size) must be positive", file: file)
        }
        var decision = policy.decide(file)
        if decision == .seal {
            file = file.addingShrinkSeal(fd: fd)
            decision = policy.decide(file)
        }
        var (guarded, captureOnly) = (true, false)
        switch decision {
        case let .refuse(rule, message):
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, rule: rule, message: message, file: file)
        case let .accept(g):
            guarded = g
        case .acceptForCapture:
            captureOnly = true
        case .seal:
            preconditionFailure("SealPolicy.decide asked to seal a file it had sealed")
        }
        guard file.size >= Int(size) else {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, rule: resizing ? "resize-beyond-file" : "pool-larger-than-file",
                          message: "pool size \(size) exceeds the \(file.kind.rawValue)'s \(file.size) bytes: grow the file before \(resizing ? "wl_shm_pool.resize" : "wl_shm.create_pool")",
                          file: file)
        }
        // The guard's signal handler is process-wide and installed once, when first needed.
        if guarded, case let status = GuardedRange.install(), status != 0 {
            throw Failure(code: WL_SHM_ERROR_INVALID_FD, rule: "guard-unavailable",
                          message: "the pool needs the SIGBUS guard, which cannot be installed (\(Errno(rawValue: -status))): seal it with F_SEAL_SHRINK", file: file)
        }
        return (file, guarded, captureOnly)
    }
}
