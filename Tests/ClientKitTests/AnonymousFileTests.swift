import ClientKit
import CWayland
import Foundation
import Glibc
import Synchronization
import SystemPackage
import Testing
import WaylandTestSupport

/// Names this suite gives its files all start with this, so /dev/shm can be checked for
/// leftovers without tripping over other processes' entries.
private let namePrefix = "ckt-\(getpid())"

/// /dev/shm entries of this test process.
private func ourShmEntries() -> Set<String> {
    let all = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
    return Set(all.filter { $0.hasPrefix(namePrefix) })
}

/// Runs `body`, then checks it left no new entry in /dev/shm.
private func expectNoShmLeftovers(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) rethrows {
    let before = ourShmEntries()
    try body()
    let after = ourShmEntries()
    #expect(after.subtracting(before).isEmpty, "new /dev/shm entries: \(after.subtracting(before))", sourceLocation: sourceLocation)
}

private func options(_ test: String) -> AnonymousFile.Options {
    AnonymousFile.Options(name: "\(namePrefix)-\(test)")
}

/// A fresh private directory (mode 0700) standing in for XDG_RUNTIME_DIR.
private func makeRuntimeDirectory() throws -> String {
    try PrivateDirectory.create(in: "/tmp", prefix: "ckt-runtime-")
}

private func isCloseOnExec(_ file: AnonymousFile) -> Bool {
    fcntl(file.fileDescriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0
}

private func fileSize(_ file: AnonymousFile) -> Int {
    var info = stat()
    guard fstat(file.fileDescriptor.rawValue, &info) == 0 else { return -1 }
    return Int(info.st_size)
}

/// Maps the file shared, writes a pattern through the mapping and reads it back with pread.
private func mapsAndHoldsWrites(_ file: AnonymousFile) -> Bool {
    let size = file.size
    guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fileDescriptor.rawValue, 0),
          address != MAP_FAILED else { return false }
    defer { munmap(address, size) }
    let bytes = address.assumingMemoryBound(to: UInt8.self)
    bytes[0] = 0xA5
    bytes[size - 1] = 0x5A
    var first: UInt8 = 0, last: UInt8 = 0
    guard pread(file.fileDescriptor.rawValue, &first, 1, 0) == 1,
          pread(file.fileDescriptor.rawValue, &last, 1, off_t(size - 1)) == 1 else { return false }
    return first == 0xA5 && last == 0x5A
}

private let sealShrink = Int32(CW_F_SEAL_SHRINK)
private let sealGrow = Int32(CW_F_SEAL_GROW)
private let sealWrite = Int32(CW_F_SEAL_WRITE)
private let sealSeal = Int32(CW_F_SEAL_SEAL)

/// Serialized: the /dev/shm comparisons must not see another test's pre-created names.
@Suite(.serialized) struct AnonymousFileTests {
    // MARK: Each strategy

    @Test(arguments: [AnonymousFile.Strategy.memfd, .shmOpen])
    func strategyMakesAMappableCloseOnExecFileOfTheRightSize(_ strategy: AnonymousFile.Strategy) throws {
        try expectNoShmLeftovers {
            let file = try AnonymousFile(size: 12288, strategy: strategy, options: options("size-\(strategy)"))
            #expect(file.usedStrategy == strategy)
            #expect(file.failedAttempts.isEmpty)
            #expect(file.size == 12288)
            #expect(fileSize(file) == 12288)
            #expect(isCloseOnExec(file))
            #expect(mapsAndHoldsWrites(file))
        }
    }

    @Test func runtimeDirFileIsMappableCloseOnExecAndUnlinked() throws {
        let directory = try makeRuntimeDirectory()
        defer { rmdir(directory) }
        try expectNoShmLeftovers {
            let opts = options("rt").withRuntimeDirectory(directory)
            let file = try AnonymousFile(size: 8192, strategy: .runtimeDirFile, options: opts)
            #expect(file.usedStrategy == .runtimeDirFile)
            #expect(fileSize(file) == 8192)
            #expect(isCloseOnExec(file))
            #expect(mapsAndHoldsWrites(file))
            #expect(file.name?.hasPrefix(directory + "/") == true)
            // Unlinked at once: the directory is empty while the file is still open.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test func memfdCarriesShrinkAndSealSeals() throws {
        let file = try AnonymousFile(size: 4096, strategy: .memfd, options: options("seals"))
        #expect(file.usedStrategy == .memfd)
        #expect(file.seals & sealShrink != 0)
        #expect(file.seals & sealSeal != 0)
        #expect(file.seals & sealGrow == 0, "pools must stay growable")
        // The seal is real: the file cannot shrink.
        #expect(ftruncate(file.fileDescriptor.rawValue, 0) == -1 && errno == EPERM)
        #expect(fileSize(file) == 4096)
    }

    @Test func automaticPrefersMemfd() throws {
        try expectNoShmLeftovers {
            let file = try AnonymousFile(size: 4096, options: options("auto"))
            #expect(file.usedStrategy == .memfd)
            #expect(file.failedAttempts.isEmpty)
        }
    }

    @Test func unsealableFilesReportNoSeals() throws {
        try expectNoShmLeftovers {
            let file = try AnonymousFile(size: 4096, strategy: .shmOpen, options: options("noseal"))
            // tmpfs answers F_GET_SEALS with F_SEAL_SEAL alone (no seal can ever be added);
            // other file systems fail it. Either way nothing stops the file from shrinking.
            #expect(file.seals == sealSeal || file.seals == -1)
            #expect(fcntl(file.fileDescriptor.rawValue, Int32(CW_F_ADD_SEALS), sealShrink) == -1)
        }
    }

    // MARK: memfd flags

    @Test func memfdRetriesWithoutNoexecSealOnEINVAL() throws {
        let calls = Mutex<[UInt32]>([])
        var opts = options("noexec")
        opts.memfdCreate = { name, flags throws(Errno) in
            calls.withLock { $0.append(flags) }
            if flags & UInt32(CW_MFD_NOEXEC_SEAL) != 0 { throw .invalidArgument } // a kernel before 6.3
            return try AnonymousFile.systemMemfdCreate(name: name, flags: flags)
        }
        let file = try AnonymousFile(size: 4096, strategy: .memfd, options: opts)
        let flags = calls.withLock { $0 }
        let base = UInt32(CW_MFD_CLOEXEC) | UInt32(CW_MFD_ALLOW_SEALING)
        #expect(flags == [base | UInt32(CW_MFD_NOEXEC_SEAL), base])
        #expect(file.usedStrategy == .memfd)
        #expect(file.seals & sealShrink != 0)
        #expect(isCloseOnExec(file))
    }

    @Test func memfdENOSYSIsReportedWithItsCall() throws {
        var opts = options("enosys")
        opts.memfdCreate = { _, _ throws(Errno) in throw .noFunction }
        let error = try #require(throws: AnonymousFileError.self) {
            try AnonymousFile(size: 4096, strategy: .memfd, options: opts)
        }
        #expect(error.requested == .memfd)
        #expect(error.attempts == [.init(strategy: .memfd, failure: .system(call: "memfd_create", errno: .noFunction))])
        #expect(error.description.contains("memfd: memfd_create failed: ENOSYS"), "\(error)")
    }

    // MARK: The automatic chain

    @Test func automaticFallsBackToShmOpenWhenMemfdFails() throws {
        try expectNoShmLeftovers {
            var opts = options("fallback")
            opts.memfdCreate = { _, _ throws(Errno) in throw .noFunction }
            let file = try AnonymousFile(size: 8192, strategy: .automatic, options: opts)
            #expect(file.usedStrategy == .shmOpen)
            #expect(file.failedAttempts == [.init(strategy: .memfd, failure: .system(call: "memfd_create", errno: .noFunction))])
            #expect(file.size == 8192 && fileSize(file) == 8192)
            #expect(isCloseOnExec(file))
            #expect(mapsAndHoldsWrites(file))
        }
    }

    @Test func automaticFallsBackToRuntimeDirWhenShmOpenFailsToo() throws {
        let directory = try makeRuntimeDirectory()
        defer { rmdir(directory) }
        // shm_open fails for real: every name it draws is already taken.
        let colliding = "collide"
        let shmName = "/\(namePrefix)-chain-\(colliding)"
        let fd = shm_open(shmName, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        defer { close(fd); shm_unlink(shmName) }

        var opts = options("chain").withRuntimeDirectory(directory)
        opts.memfdCreate = { _, _ throws(Errno) in throw .noFunction }
        opts.randomName = { colliding }
        opts.shmOpenAttempts = 3
        let file = try AnonymousFile(size: 4096, options: opts)
        #expect(file.usedStrategy == .runtimeDirFile)
        #expect(file.failedAttempts.map(\.strategy) == [.memfd, .shmOpen])
        #expect(file.failedAttempts.last?.failure == .namesExhausted(tries: 3))
    }

    @Test func automaticReportsEveryAttemptInOrder() throws {
        try expectNoShmLeftovers {
            let colliding = "allfail"
            let shmName = "/\(namePrefix)-all-\(colliding)"
            let fd = shm_open(shmName, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            defer { close(fd); shm_unlink(shmName) }

            var opts = options("all").withRuntimeDirectory(nil)
            opts.memfdCreate = { _, _ throws(Errno) in throw .noFunction }
            opts.randomName = { colliding }
            opts.shmOpenAttempts = 2
            let error = try #require(throws: AnonymousFileError.self) {
                try AnonymousFile(size: 4096, options: opts)
            }
            #expect(error.requested == .automatic)
            #expect(error.attempts == [
                .init(strategy: .memfd, failure: .system(call: "memfd_create", errno: .noFunction)),
                .init(strategy: .shmOpen, failure: .namesExhausted(tries: 2)),
                .init(strategy: .runtimeDirFile, failure: .runtimeDirectoryUnset),
            ])
            let text = error.description
            #expect(text.contains("memfd: memfd_create failed: ENOSYS"), "\(text)")
            #expect(text.contains("shm-open: shm_open failed: EEXIST for 2 random names"), "\(text)")
            #expect(text.contains("runtime-dir: XDG_RUNTIME_DIR is not set"), "\(text)")
        }
    }

    // MARK: shm_open names

    @Test func shmOpenRetriesWithANewNameOnEEXIST() throws {
        try expectNoShmLeftovers {
            let shmName = "/\(namePrefix)-retry-taken"
            let fd = shm_open(shmName, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            defer { close(fd); shm_unlink(shmName) }

            let names = Mutex<[String]>(["taken", "taken", "free"])
            let drawn = Mutex(0)
            var opts = options("retry")
            opts.randomName = {
                drawn.withLock { $0 += 1 }
                return names.withLock { $0.isEmpty ? "unexpected" : $0.removeFirst() }
            }
            let file = try AnonymousFile(size: 4096, strategy: .shmOpen, options: opts)
            #expect(file.usedStrategy == .shmOpen)
            #expect(file.name == "/\(namePrefix)-retry-free")
            #expect(drawn.withLock { $0 } == 3, "two collisions, then the free name")
            #expect(isCloseOnExec(file))
            // The colliding object is untouched and still there; ours is already unlinked.
            #expect(ourShmEntries().contains("\(namePrefix)-retry-taken"))
            #expect(!ourShmEntries().contains("\(namePrefix)-retry-free"))
        }
    }

    @Test func shmOpenGivesUpAfterTheAttemptBudget() throws {
        try expectNoShmLeftovers {
            let shmName = "/\(namePrefix)-budget-same"
            let fd = shm_open(shmName, O_RDWR | O_CREAT | O_EXCL, 0o600)
            try #require(fd >= 0)
            defer { close(fd); shm_unlink(shmName) }
            let drawn = Mutex(0)
            var opts = options("budget")
            opts.randomName = { drawn.withLock { $0 += 1 }; return "same" }
            let error = try #require(throws: AnonymousFileError.self) {
                try AnonymousFile(size: 4096, strategy: .shmOpen, options: opts)
            }
            #expect(error.attempts == [.init(strategy: .shmOpen, failure: .namesExhausted(tries: 100))])
            #expect(drawn.withLock { $0 } == 100)
        }
    }

    @Test func defaultRandomNamesDiffer() {
        let names = (0..<50).map { _ in AnonymousFile.randomName() }
        #expect(Set(names).count == 50)
        #expect(names.allSatisfy { $0.count == 12 && !$0.contains("/") })
    }

    // MARK: Runtime directory

    @Test func runtimeDirRequiresAnAbsoluteDirectory() throws {
        let relative = try #require(throws: AnonymousFileError.self) {
            try AnonymousFile(size: 4096, strategy: .runtimeDirFile, options: options("rel").withRuntimeDirectory("relative/dir"))
        }
        #expect(relative.attempts == [.init(strategy: .runtimeDirFile, failure: .runtimeDirectoryNotAbsolute("relative/dir"))])
        #expect(relative.description.contains("not an absolute path"))

        for unset in [nil, ""] as [String?] {
            let error = try #require(throws: AnonymousFileError.self) {
                try AnonymousFile(size: 4096, strategy: .runtimeDirFile, options: options("unset").withRuntimeDirectory(unset))
            }
            #expect(error.attempts == [.init(strategy: .runtimeDirFile, failure: .runtimeDirectoryUnset)])
        }

        let missing = try #require(throws: AnonymousFileError.self) {
            try AnonymousFile(size: 4096, strategy: .runtimeDirFile, options: options("missing").withRuntimeDirectory("/nonexistent-ckt"))
        }
        #expect(missing.attempts == [.init(strategy: .runtimeDirFile, failure: .system(call: "mkostemp", errno: .noSuchFileOrDirectory))])
    }

    // MARK: Growing and sizes

    @Test func growKeepsTheSeals() throws {
        let file = try AnonymousFile(size: 4096, strategy: .memfd, options: options("grow"))
        let before = file.seals
        try file.grow(to: 16384)
        #expect(file.size == 16384 && fileSize(file) == 16384)
        #expect(file.seals == before)
        #expect(file.seals & sealShrink != 0)
        #expect(mapsAndHoldsWrites(file))
    }

    @Test func growWorksForUnsealableFiles() throws {
        try expectNoShmLeftovers {
            let file = try AnonymousFile(size: 4096, strategy: .shmOpen, options: options("growshm"))
            try file.grow(to: 8192)
            #expect(fileSize(file) == 8192)
        }
    }

    @Test func nonPositiveSizeIsAnError() throws {
        let error = try #require(throws: AnonymousFileError.self) {
            try AnonymousFile(size: 0, strategy: .memfd, options: options("zero"))
        }
        #expect(error.attempts == [.init(strategy: .memfd, failure: .invalidSize(0))])
    }

    // MARK: Read-only sealed files

    @Test func readOnlySealedFileIsSealedAgainstEverything() throws {
        let contents: [UInt8] = Array("a keymap, say".utf8) + Array(repeating: 7, count: 5000)
        let file = try contents.withUnsafeBytes { bytes in
            try AnonymousFile.sealedReadOnly(contents: bytes, options: options("ro"))
        }
        #expect(file.usedStrategy == .memfd)
        #expect(file.size == contents.count && fileSize(file) == contents.count)
        let all = sealShrink | sealGrow | sealWrite | sealSeal
        #expect(file.seals & all == all)
        #expect(isCloseOnExec(file))

        let fd = file.fileDescriptor.rawValue
        var byte: UInt8 = 1
        #expect(pwrite(fd, &byte, 1, 0) == -1 && errno == EPERM, "write must fail")
        #expect(pwrite(fd, &byte, 1, off_t(contents.count)) == -1 && errno == EPERM, "growing by writing must fail")
        #expect(ftruncate(fd, 1) == -1 && errno == EPERM, "shrink must fail")
        #expect(ftruncate(fd, off_t(contents.count * 2)) == -1 && errno == EPERM, "grow must fail")
        #expect(fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(0)) == -1, "no further seals")
        let writable = mmap(nil, contents.count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        #expect(writable == MAP_FAILED, "a writable shared mapping must be refused")

        // Still readable, with exactly the contents.
        let readable = try #require(mmap(nil, contents.count, PROT_READ, MAP_SHARED, fd, 0))
        try #require(readable != MAP_FAILED)
        defer { munmap(readable, contents.count) }
        #expect(Array(UnsafeRawBufferPointer(start: readable, count: contents.count)) == contents)
    }

    @Test func readOnlySealedFileNeedsMemfd() throws {
        let contents: [UInt8] = [1, 2, 3]
        for strategy in [AnonymousFile.Strategy.shmOpen, .runtimeDirFile] {
            let error = try #require(throws: AnonymousFileError.self) {
                try contents.withUnsafeBytes { try AnonymousFile.sealedReadOnly(contents: $0, strategy: strategy, options: options("ro-\(strategy)")) }
            }
            #expect(error.attempts.count == 1)
            if case .unsupported = error.attempts[0].failure {} else { Issue.record("expected unsupported, got \(error)") }
        }
        var opts = options("ro-enosys")
        opts.memfdCreate = { _, _ throws(Errno) in throw .noFunction }
        let error = try #require(throws: AnonymousFileError.self) {
            try contents.withUnsafeBytes { try AnonymousFile.sealedReadOnly(contents: $0, options: opts) }
        }
        #expect(error.attempts == [.init(strategy: .memfd, failure: .system(call: "memfd_create", errno: .noFunction))])
    }

    // MARK: Names

    @Test func strategyNamesAreTheCommandLineValues() {
        #expect(AnonymousFile.Strategy.allCases.map(\.rawValue) == ["auto", "memfd", "shm-open", "runtime-dir"])
        #expect(AnonymousFile.Strategy.automatic.chain == [.memfd, .shmOpen, .runtimeDirFile])
        #expect(AnonymousFile.Strategy.shmOpen.chain == [.shmOpen])
    }
}
