import CWayland
import Glibc
import Syscalls
import SystemPackage
import Testing

/// The syscall layer hands the kernel's errno back as a typed `Errno` (never a bare -1), and
/// retries EINTR only where asked.
@Suite struct SyscallTests {
    @Test func openingAMissingPathThrowsENOENT() {
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try Syscall.open("/nonexistent-compositord-\(getpid())/missing", O_RDONLY | O_CLOEXEC)
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try Syscall.stat("/nonexistent-compositord-\(getpid())") }
    }

    @Test func sealsAsTheKernelAnswers() throws {
        // A pipe is not shared memory: the VFS has no seals for it (EINVAL).
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { ends.forEach { try? Syscall.close($0) } }
        #expect(throws: Errno.invalidArgument) { try Syscall.getSeals(ends[0]) }
        #expect(throws: Errno.invalidArgument) { try Syscall.addSeals(ends[1], Int32(CW_F_SEAL_SHRINK)) }

        // A memfd made without MFD_ALLOW_SEALING carries F_SEAL_SEAL: adding more is EPERM.
        let unsealable = try Syscall.memfdCreate("syscall-test", flags: UInt32(CW_MFD_CLOEXEC))
        defer { try? Syscall.close(unsealable) }
        #expect(try Syscall.getSeals(unsealable) == Int32(CW_F_SEAL_SEAL))
        #expect(throws: Errno.notPermitted) { try Syscall.addSeals(unsealable, Int32(CW_F_SEAL_SHRINK)) }

        // One that allows sealing takes F_SEAL_SHRINK, after which shrinking it is EPERM.
        let sealable = try Syscall.memfdCreate("syscall-test", flags: UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        defer { try? Syscall.close(sealable) }
        try Syscall.ftruncate(sealable, 8192)
        try Syscall.addSeals(sealable, Int32(CW_F_SEAL_SHRINK))
        #expect(try Syscall.getSeals(sealable) == Int32(CW_F_SEAL_SHRINK))
        #expect(throws: Errno.notPermitted) { try Syscall.ftruncate(sealable, 4096) }
        #expect(try Syscall.statxCached(sealable).size == 8192)
    }

    @Test func eventfdCounter() throws {
        let fd = try Syscall.eventfd()
        defer { try? Syscall.close(fd) }
        // Non-blocking and empty: EAGAIN rather than a wait.
        #expect(throws: Errno.resourceTemporarilyUnavailable) { try Syscall.readCounter(fd) }
        try Syscall.writeCounter(fd, 3)
        #expect(try Syscall.readCounter(fd) == 3)
    }

    @Test func helpers() throws {
        // -1 with errno set becomes the errno; EINTR is run again only when asked.
        var calls = 0
        let interruptedOnce = { () -> Int32 in
            calls += 1
            if calls == 1 { errno = EINTR; return -1 }
            return 7
        }
        #expect(try valueOrErrno(retryOnInterrupt: true, interruptedOnce) == 7)
        #expect(calls == 2)
        calls = 0
        #expect(throws: Errno.interrupted) { try valueOrErrno(interruptedOnce) }
        #expect(calls == 1)
        // CDRM's helpers return -errno.
        #expect(throws: Errno.inappropriateIOCTLForDevice) { try valueOrNegatedErrno(Int32(-ENOTTY)) }
        #expect(try valueOrNegatedErrno(Int32(5)) == 5)
    }
}
