import CWayland
import Glibc
import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Real files of every class the seal policy distinguishes.
@Suite struct PoolFileTests {
    func memfd(sealing: Bool, seals: Int32 = 0, size: Int = 4096) -> Int32 {
        let flags = UInt32(CW_MFD_CLOEXEC) | (sealing ? UInt32(CW_MFD_ALLOW_SEALING) : 0)
        let fd = cw_memfd_create("pool-test", flags)
        precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
        if seals != 0 { precondition(fcntl(fd, Int32(CW_F_ADD_SEALS), seals) == 0) }
        return fd
    }

    func shmOpenFile(size: Int = 4096) -> Int32 {
        let name = "/compositord-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        precondition(fd >= 0)
        shm_unlink(name)
        precondition(ftruncate(fd, off_t(size)) == 0)
        return fd
    }

    @Test func memfdClasses() {
        let sealed = memfd(sealing: true, seals: Int32(CW_F_SEAL_SHRINK))
        let unsealed = memfd(sealing: true)
        let unsealable = memfd(sealing: false)
        let sealOnly = memfd(sealing: true, seals: Int32(CW_F_SEAL_SEAL))
        defer { [sealed, unsealed, unsealable, sealOnly].forEach { close($0) } }
        let s = PoolFile.classify(fd: sealed)
        #expect(s.kind == .sealedMemfd && !s.canShrink && s.sealDescription == "SHRINK" && s.size == 4096)
        #expect(PoolFile.classify(fd: unsealed).kind == .unsealedMemfd)
        #expect(PoolFile.classify(fd: unsealed).sealDescription == "none")
        #expect(PoolFile.classify(fd: unsealable).kind == .unsealableMemfd)
        #expect(PoolFile.classify(fd: unsealable).sealDescription == "SEAL")
        #expect(PoolFile.classify(fd: sealOnly).kind == .unsealableMemfd)
    }

    @Test func shmFilesAndOtherFiles() throws {
        let shm = shmOpenFile()
        defer { close(shm) }
        #expect(PoolFile.classify(fd: shm).kind == .shmFile)

        // O_TMPFILE in /dev/shm (tmpfs): a shm file; and a plain file on a non-tmpfs disk if one exists.
        let tmpfile = open("/dev/shm", Int32(CW_O_TMPFILE) | O_RDWR | O_CLOEXEC, 0o600)
        try #require(tmpfile >= 0)
        defer { close(tmpfile) }
        #expect(PoolFile.classify(fd: tmpfile).kind == .shmFile)
        #expect(PoolFile.classify(fd: tmpfile).canShrink)

        // A file on a disk file system (where one exists) is not shared memory, named by its type;
        // on a local disk (ext4, xfs, overlay...) it is a disk file, anywhere else a regular file.
        let exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        defer { close(exe) }
        let program = PoolFile.classify(fd: exe)
        if cw_fs_type(exe) != 0x0102_1994 {
            let local = PoolFile.localDiskFileSystems.contains(String(program.typeName.dropFirst("file on ".count)))
            #expect(program.kind == (local ? .diskFile : .regularFile) && program.seals == nil, "\(program)")
            #expect(program.typeName.hasPrefix("file on ") && !program.typeName.contains("unknown"), "\(program.typeName)")
            #expect(program.size > 0)
        }
    }

    /// enforce seals an unsealed memfd on its client's behalf: the client's own shrink then fails
    /// with EPERM, growing still works, and the pool is read without the guard.
    @Test func enforceSealsOnTheClientsBehalf() throws {
        let fd = memfd(sealing: true, size: 8192)
        let clientsCopy = dup(fd)  // what the client keeps: the same open file description
        defer { close(clientsCopy) }
        let pool = try ShmPool(fd: fd, size: 8192, policy: .enforce)
        #expect(pool.file.kind == .sealedByCompositor && !pool.guarded && pool.file.sealDescription == "SHRINK")
        #expect(ftruncate(clientsCopy, 4096) == -1 && errno == EPERM)
        #expect(ftruncate(clientsCopy, 16384) == 0)
        try pool.resize(to: 16384, policy: .enforce)
        #expect(pool.file.kind == .sealedByCompositor && !pool.guarded && pool.size == 16384)

        // guard and strict never seal anyone's file.
        let g = memfd(sealing: true)
        let guarded = try ShmPool(fd: g, size: 4096, policy: .guardOnly)
        #expect(guarded.file.kind == .unsealedMemfd && guarded.guarded && fcntl(g, Int32(CW_F_GET_SEALS)) == 0)
        let s = memfd(sealing: true)
        #expect(throws: ShmPool.Failure.self) { try ShmPool(fd: s, size: 4096, policy: .strict) }
    }

    /// Where F_ADD_SEALS fails (a read-only fd of a memfd that allows sealing), enforce reads the
    /// pool under the guard instead.
    @Test func aMemfdThatCannotBeSealedThroughItsFdIsGuarded() throws {
        let writable = memfd(sealing: true)
        defer { close(writable) }
        let readOnly = open("/proc/self/fd/\(writable)", O_RDONLY | O_CLOEXEC)
        try #require(readOnly >= 0)
        let pool = try ShmPool(fd: readOnly, size: 4096, policy: .enforce)
        #expect(pool.file.kind == .unsealableMemfd && pool.guarded)
        #expect(pool.file.sealFailure == .notPermitted)
        #expect(fcntl(writable, Int32(CW_F_GET_SEALS)) == 0)
    }

    /// Every hugetlbfs file is read under the guard, sealed or not (when the kernel has huge pages).
    @Test func hugetlbMemfdsAreAlwaysGuarded() throws {
        let fd = cw_memfd_create("pool-test-huge", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING) | 0x0004 /* MFD_HUGETLB */)
        guard fd >= 0, ftruncate(fd, 2 << 20) == 0 else {
            if fd >= 0 { close(fd) }
            return  // no hugetlbfs (or no huge page size) on this kernel: nothing to check
        }
        precondition(fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0)
        let file = PoolFile.classify(fd: fd)
        #expect(file.kind == .hugetlbFile && !file.canShrink && !file.readsCannotFault)
        for policy in SealPolicy.allCases {
            #expect(policy.decide(file) == .accept(guarded: true), "\(policy)")
        }
        close(fd)
    }

    @Test func nonRegularFiles() {
        var p: [Int32] = [0, 0]
        precondition(pipe(&p) == 0)
        defer { close(p[0]); close(p[1]) }
        let pipeFile = PoolFile.classify(fd: p[0])
        #expect(pipeFile.kind == .notRegularFile && pipeFile.typeName == "pipe")
        let dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(dir) }
        #expect(PoolFile.classify(fd: dir).typeName == "directory")
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        #expect(PoolFile.classify(fd: null).typeName == "device")
    }

    @Test func policyDecisions() {
        func file(_ kind: PoolFile.Kind, shrinkSealed: Bool = false) -> PoolFile {
            PoolFile(kind: kind, seals: shrinkSealed ? Int32(CW_F_SEAL_SHRINK) : 0, size: 4096, typeName: "x")
        }
        for policy in SealPolicy.allCases {
            #expect(policy.decide(file(.sealedMemfd, shrinkSealed: true)) == .accept(guarded: false), "\(policy)")
            if case .accept = policy.decide(file(.notRegularFile)) { Issue.record("non-regular accepted by \(policy)") }
        }
        #expect(SealPolicy.enforce.decide(file(.unsealedMemfd)) == .seal)
        #expect(SealPolicy.enforce.decide(file(.sealedByCompositor, shrinkSealed: true)) == .accept(guarded: false))
        #expect(SealPolicy.enforce.decide(file(.unsealableMemfd)) == .accept(guarded: true))
        #expect(SealPolicy.enforce.decide(file(.shmFile)) == .accept(guarded: true))
        #expect(SealPolicy.enforce.decide(file(.hugetlbFile)) == .accept(guarded: true))
        // A local disk's file: a capture target only under enforce (written off the main thread).
        #expect(SealPolicy.enforce.decide(file(.diskFile)) == .acceptForCapture)
        for (policy, kind) in [(SealPolicy.enforce, PoolFile.Kind.regularFile), (.strict, .regularFile), (.strict, .diskFile)] {
            guard case let .refuse(rule, message) = policy.decide(file(kind)) else { Issue.record("regular file accepted by \(policy)"); continue }
            #expect(rule == "not-shared-memory" && message.contains("not shared memory") && message.hasSuffix("send a memfd sealed with F_SEAL_SHRINK"))
        }
        for kind in [PoolFile.Kind.unsealedMemfd, .unsealableMemfd, .shmFile, .hugetlbFile] {
            guard case let .refuse(rule, message) = SealPolicy.strict.decide(file(kind)) else { Issue.record("\(kind) accepted by strict"); continue }
            #expect(rule == "unsealed-pool-strict" && message.hasSuffix("fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) first"))
        }
        #expect(SealPolicy.strict.decide(file(.hugetlbFile, shrinkSealed: true)) == .accept(guarded: true))
        for kind in [PoolFile.Kind.unsealedMemfd, .unsealableMemfd, .shmFile, .hugetlbFile, .diskFile, .regularFile] {
            #expect(SealPolicy.guardOnly.decide(file(kind)) == .accept(guarded: true), "\(kind)")
        }
        // libwayland cuts a protocol error's message at 127 bytes: every refusal keeps its fix
        // within them, for the longest type names classify gives each kind (file systems: 24).
        let names: [PoolFile.Kind: [String]] = [
            .regularFile: ["file on " + String(repeating: "f", count: 24), "file on an unknown file system"],
            .diskFile: ["file on ext4", "file on bcachefs"],
            .notRegularFile: ["unstat-able fd", "special file", "directory"],
        ]
        for kind in PoolFile.Kind.allCases {
            for name in names[kind] ?? ["hugetlbfs file", "hugetlb memfd", "tmpfs file", "memfd"] {
                let f = PoolFile(kind: kind, seals: 0, size: 4096, typeName: name)
                for policy in SealPolicy.allCases {
                    if case let .refuse(_, message) = policy.decide(f) {
                        #expect(message.utf8.count <= SealPolicy.messageLimit, "\(message.utf8.count): \(message)")
                    }
                }
            }
        }
    }

    @Test func poolRulesAtCreateAndResize() throws {
        // Larger than the file: refused under every policy, at create and at resize.
        for policy in SealPolicy.allCases {
            #expect(throws: ShmPool.Failure.self) { try ShmPool(fd: memfd(sealing: true, seals: Int32(CW_F_SEAL_SHRINK)), size: 8192, policy: policy) }
        }
        let pool = try ShmPool(fd: memfd(sealing: true, seals: Int32(CW_F_SEAL_SHRINK)), size: 4096, policy: .strict)
        #expect(!pool.guarded)
        do {
            try pool.resize(to: 8192, policy: .strict)  // the libwayland hole: sealed, file not grown
            Issue.record("resize beyond the file was accepted")
        } catch {
            #expect(error.rule == "resize-beyond-file" && error.code == WL_SHM_ERROR_INVALID_FD)
        }
        do {
            try pool.resize(to: 2048, policy: .strict)
            Issue.record("shrinking resize accepted")
        } catch {
            #expect(error.rule == "shrinking-resize" && error.code == WL_SHM_ERROR_INVALID_STRIDE)
        }
        // Grow the file, then the resize is fine.
        precondition(ftruncate(pool.fd.rawValue, 8192) == 0)
        try pool.resize(to: 8192, policy: .strict)
        #expect(pool.size == 8192)
    }

    @Test func guardedReadSurvivesTruncation() throws {
        let fd = shmOpenFile(size: 64 * 64 * 4)
        let pool = try ShmPool(fd: fd, size: 64 * 64 * 4, policy: .enforce)
        #expect(pool.guarded)
        let layout = try ShmBufferLayout.validate(offset: 0, width: 64, height: 64, stride: 256, format: .xrgb8888, poolSize: pool.size).get()
        let buffer = ShmBuffer(pool: pool, layout: layout)
        var sum = 0
        #expect(buffer.withImage { _ in sum += Int(pool.data.load(fromByteOffset: 8000, as: UInt8.self)) } == .read)
        // The client shrinks its file: the next read faults, is caught, and reads zeros.
        precondition(ftruncate(fd, 0) == 0)
        let outcome = buffer.withImage { _ in sum += Int(pool.data.load(fromByteOffset: 8000, as: UInt8.self)) }
        #expect(outcome == .faulted)
        #expect(pool.faulted)
        #expect(sum == 0)
        // Later reads are refused without touching the memory again.
        #expect(buffer.withImage { _ in } == .faulted)
    }
}
