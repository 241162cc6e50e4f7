import ClientKit
import CWayland
import Foundation
import Glibc
import SystemPackage
import Testing
import WaylandTestSupport

/// Paths that exist on this machine (the real-device tests run only where they do, e.g. in a VM
/// with udmabuf, dma-heap and vgem).
private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

private let hasUdmabuf = exists("/dev/udmabuf")
private let hasHeap = exists("/dev/dma_heap/system")
private let hasDRI = exists("/dev/dri")
private let hasNoDevice = !hasUdmabuf && !hasHeap && !hasDRI

/// A fresh private directory, removed (with what is in it) by the caller.
private func makeDirectory() throws -> String {
    try PrivateDirectory.create(in: "/tmp", prefix: "ckt-dmabuf-")
}

/// How many of this process's descriptors lead to something `matching` (by /proc/self/fd's link
/// text). Other suites run in parallel, so leak checks count only what this suite's files look like.
private func openDescriptors(_ matching: (String) -> Bool) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.filter { entry in
        var target = [UInt8](repeating: 0, count: 4096)
        let count = target.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { readlink("/proc/self/fd/\(entry)", $0.baseAddress!, $0.count) }
        }
        return count > 0 && matching(String(decoding: target[..<count], as: UTF8.self))
    }.count
}

/// dma-bufs, udmabuf memfds, and the devices.
private func dmabufDescriptors() -> Int {
    openDescriptors { target in
        target.contains("dmabuf") || target.hasPrefix("/dev/dri/") || target.hasPrefix("/dev/udmabuf")
            || target.hasPrefix("/dev/dma_heap/") || target.contains("ckt-")
    }
}

/// Options whose device paths lie in a directory that has none of them.
private func nowhere(_ directory: String) -> DmaBuf.Options {
    DmaBuf.Options(udmabufDevice: directory + "/udmabuf", driDirectory: directory + "/dri",
                   heapDevice: directory + "/dma_heap/system", memfdName: "ckt-udmabuf")
}

@Suite struct DmaBufStrategyTests {
    @Test func strategyNamesAreTheCommandLineValues() {
        #expect(DmaBuf.Strategy.allCases.map(\.rawValue) == ["auto", "udmabuf", "dumb", "heap"])
        #expect(DmaBuf.Strategy(rawValue: "auto") == .automatic)
        #expect(DmaBuf.Strategy(rawValue: "udmabuf") == .udmabuf)
        #expect(DmaBuf.Strategy(rawValue: "dumb") == .dumb)
        #expect(DmaBuf.Strategy(rawValue: "heap") == .heap)
        #expect(DmaBuf.Strategy(rawValue: "automatic") == nil)
        #expect(DmaBuf.Strategy(rawValue: "memfd") == nil)
        #expect(DmaBuf.Strategy.automatic.chain == [.udmabuf, .dumb, .heap])
        #expect(DmaBuf.Strategy.dumb.chain == [.dumb])
        #expect("\(DmaBuf.Strategy.automatic)" == "auto")
    }

    @Test func automaticReportsEveryFailedAttemptInOrder() throws {
        let directory = try makeDirectory()
        defer { rmdir(directory) }
        do {
            _ = try DmaBuf(width: 64, height: 64, options: nowhere(directory))
            Issue.record("allocated a dma-buf without devices")
        } catch {
            #expect(error.requested == .automatic)
            #expect(error.attempts.map(\.strategy) == [.udmabuf, .dumb, .heap])
            #expect(error.attempts.map(\.failure.errno) == [.noSuchFileOrDirectory, .noSuchFileOrDirectory, .noSuchFileOrDirectory])
            let text = error.description
            #expect(text.hasPrefix("cannot allocate a dma-buf (auto): udmabuf: open \(directory)/udmabuf failed: ENOENT"))
            #expect(text.contains("CONFIG_UDMABUF"))
            #expect(text.contains("; dumb: opendir \(directory)/dri failed: ENOENT"))
            #expect(text.contains("; heap: open \(directory)/dma_heap/system failed: ENOENT"))
            #expect(text.contains("CONFIG_DMABUF_HEAPS_SYSTEM"))
        }
    }

    @Test func aSingleStrategyReportsOnlyItself() throws {
        let directory = try makeDirectory()
        defer { rmdir(directory) }
        #expect {
            _ = try DmaBuf(width: 8, height: 8, strategy: .heap, options: nowhere(directory))
        } throws: { error in
            (error as? DmaBufError)?.attempts.map(\.strategy) == [.heap]
        }
    }

    /// The brief's host: no udmabuf, no dma-heap, no DRM. Every default path fails.
    @Test(.enabled(if: hasNoDevice, "this machine has a dma-buf device"))
    func withoutDevicesEveryDefaultPathFails() {
        do {
            _ = try DmaBuf(width: 64, height: 64)
            Issue.record("allocated a dma-buf on a machine without devices")
        } catch {
            #expect(error.attempts.map(\.strategy) == [.udmabuf, .dumb, .heap])
            #expect(error.attempts.allSatisfy { $0.failure.errno == .noSuchFileOrDirectory })
        }
    }

    @Test func invalidSizesFailEveryStrategyWithoutTouchingDevices() {
        #expect {
            _ = try DmaBuf(width: 0, height: 64)
        } throws: { error in
            (error as? DmaBufError)?.attempts == DmaBuf.Strategy.automatic.chain.map {
                DmaBuf.Attempt(strategy: $0, failure: .invalidSize(width: 0, height: 64))
            }
        }
    }

    /// Devices that are not what they claim: the ioctls fail with ENOTTY, reported as such.
    @Test func wrongDevicesReportTheIoctlThatFailed() throws {
        let directory = try makeDirectory()
        // Plain files: every ioctl on them fails with ENOTTY.
        let fakeCard = directory + "/card0", fakeUdmabuf = directory + "/udmabuf", fakeHeap = directory + "/heap"
        let files = [fakeCard, directory + "/renderD128", fakeUdmabuf, fakeHeap]
        for file in files { _ = FileManager.default.createFile(atPath: file, contents: Data()) }
        defer {
            for file in files { unlink(file) }
            rmdir(directory)
        }
        let memfdName = "ckt-wrong-\(getpid())"
        let options = DmaBuf.Options(udmabufDevice: fakeUdmabuf, driDirectory: directory, heapDevice: fakeHeap, memfdName: memfdName)
        func ours() -> Int { openDescriptors { $0.hasPrefix(directory) || $0.contains(memfdName) } }
        let before = ours()
        do {
            _ = try DmaBuf(width: 16, height: 16, options: options)
            Issue.record("allocated from plain files")
        } catch {
            #expect(error.attempts.count == 3)
            #expect(error.attempts[0].failure.errno == Errno(rawValue: ENOTTY))
            #expect("\(error.attempts[0].failure)".contains("UDMABUF_CREATE on \(fakeUdmabuf) failed: ENOTTY"))
            #expect("\(error.attempts[0].failure)".contains("not a udmabuf device"))
            // card0 is tried (renderD128 is not a card), and drmGetCap fails on a plain file.
            #expect("\(error.attempts[1].failure)" == "no DRM device with dumb buffers: \(fakeCard): drmGetCap(DRM_CAP_DUMB_BUFFER) failed: ENOTTY (Inappropriate ioctl for device)")
            #expect("\(error.attempts[2].failure)".contains("DMA_HEAP_IOCTL_ALLOC on \(fakeHeap) failed: ENOTTY"))
        }
        #expect(ours() == before, "a failed attempt leaked a descriptor (a device, or the udmabuf memfd)")
    }

    @Test func anEmptyDRIDirectoryHasNoCard() throws {
        let directory = try makeDirectory()
        defer { rmdir(directory) }
        #expect {
            _ = try DmaBuf(width: 16, height: 16, strategy: .dumb, options: DmaBuf.Options(driDirectory: directory))
        } throws: { error in
            "\(error)".contains("no card* node in \(directory)")
        }
    }

    // MARK: UDMABUF_CREATE errnos

    @Test func udmabufEINVALNamesTheMissingOrForbiddenSeal() {
        let page = 4096
        let shrink = Int32(CW_F_SEAL_SHRINK), write = Int32(CW_F_SEAL_WRITE), seal = Int32(CW_F_SEAL_SEAL)
        let einval = Errno.invalidArgument
        #expect(DmaBuf.udmabufCreateHint(errno: einval, seals: seal, size: page, pageSize: page, sizeLimitMB: 64)
            == "the memfd lacks F_SEAL_SHRINK (F_GET_SEALS 0x1)")
        #expect(DmaBuf.udmabufCreateHint(errno: einval, seals: shrink | write, size: page, pageSize: page, sizeLimitMB: 64)
            == "the memfd carries F_SEAL_WRITE, which udmabuf rejects (F_GET_SEALS 0xa)")
        #expect(DmaBuf.udmabufCreateHint(errno: einval, seals: shrink, size: 100, pageSize: page, sizeLimitMB: 64)
            == "the size 100 is not a multiple of the page size 4096")
        #expect(DmaBuf.udmabufCreateHint(errno: einval, seals: shrink | seal, size: 65 << 20, pageSize: page, sizeLimitMB: 64)
            == "\(65 << 20) bytes exceeds udmabuf's size_limit_mb=64")
        // Nothing known to be wrong: the kernel's whole list.
        let generic = DmaBuf.udmabufCreateHint(errno: einval, seals: nil, size: page, pageSize: page, sizeLimitMB: nil)
        #expect(generic?.hasPrefix("the memfd lacks F_SEAL_SHRINK or carries F_SEAL_WRITE") == true)
    }

    @Test func udmabufOtherErrnos() {
        func hint(_ code: Int32) -> String? {
            DmaBuf.udmabufCreateHint(errno: Errno(rawValue: code), seals: nil, size: 4096, pageSize: 4096, sizeLimitMB: nil)
        }
        #expect(hint(EBADFD)?.contains("not a memfd") == true)
        #expect(hint(ENOTTY)?.contains("not a udmabuf device") == true)
        #expect(hint(ENOMEM) != nil)
        #expect(hint(EIO) == nil)
    }

    /// The memfd the udmabuf strategy makes satisfies the kernel: SHRINK, not WRITE.
    @Test func aClientKitMemfdPassesTheUdmabufSealCheck() throws {
        let file = try AnonymousFile(size: 8192, strategy: .memfd)
        #expect(file.seals & Int32(CW_F_SEAL_SHRINK) != 0)
        #expect(file.seals & Int32(CW_F_SEAL_WRITE) == 0)
    }

    @Test func drmNames() {
        #expect(DrmFormat.name(DrmFormat.xrgb8888) == "XR24")
        #expect(DrmFormat.name(DrmFormat.argb8888) == "AR24")
        #expect(DrmFormat.name(0x0000_0001) == "0x1")
        #expect(DrmModifier.name(DrmModifier.linear) == "LINEAR")
        #expect(DrmModifier.name(DrmModifier.invalid) == "INVALID")
        #expect(DrmModifier.name(DrmModifier.intelXTiled) == "0x100000000000001")
        #expect("\(DmabufFormat(format: DrmFormat.xrgb8888, modifier: 0))" == "XR24/LINEAR")
    }
}

@Suite struct DmabufFormatTableTests {
    static let entries = [
        DmabufFormat(format: DrmFormat.xrgb8888, modifier: DrmModifier.linear),
        DmabufFormat(format: DrmFormat.argb8888, modifier: DrmModifier.linear),
        DmabufFormat(format: DrmFormat.xrgb8888, modifier: DrmModifier.intelXTiled),
        DmabufFormat(format: 0x3231_564E, modifier: DrmModifier.invalid), // NV12
    ]

    /// The table as the protocol lays it out, built by hand: u32 format, 4 bytes of padding, u64 modifier.
    static func handBuilt(_ entries: [DmabufFormat]) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            withUnsafeBytes(of: entry.format) { bytes += $0 }
            bytes += [0xEE, 0xEE, 0xEE, 0xEE] // padding: whatever it holds is ignored
            withUnsafeBytes(of: entry.modifier) { bytes += $0 }
        }
        return bytes
    }

    @Test func parsesASealedMemfdTableMappedPrivately() throws {
        let bytes = Self.handBuilt(Self.entries)
        #expect(bytes.count == 64)
        // Sealed read-only, as a compositor would send it: a MAP_SHARED writable map would fail.
        let file = try bytes.withUnsafeBytes { try AnonymousFile.sealedReadOnly(contents: $0) }
        let table = try DmabufFormatTable(fileDescriptor: file.fileDescriptor, size: bytes.count)
        #expect(table.entries == Self.entries)
        #expect(table[2] == Self.entries[2])
        #expect(table[4] == nil)
        // The descriptor stays the caller's.
        #expect(fcntl(file.fileDescriptor.rawValue, F_GETFD) >= 0)
    }

    @Test func encodedIsTheWireLayout() throws {
        let table = DmabufFormatTable(entries: Self.entries)
        let encoded = table.encoded()
        #expect(encoded.count == Self.entries.count * DmabufFormatTable.entrySize)
        // Same bytes except the padding, which encoded() zeroes.
        var expected = Self.handBuilt(Self.entries)
        for entry in 0..<Self.entries.count { expected.replaceSubrange(entry * 16 + 4 ..< entry * 16 + 8, with: [0, 0, 0, 0]) }
        #expect(encoded == expected)
        #expect(try encoded.withUnsafeBytes { try DmabufFormatTable(bytes: $0) } == table)
    }

    @Test func rejectsPartialEntries() throws {
        let bytes = Self.handBuilt(Self.entries) + [1, 2, 3]
        #expect(throws: DmabufFormatTable.Error.badSize(67)) {
            try bytes.withUnsafeBytes { try DmabufFormatTable(bytes: $0) }
        }
        let file = try bytes.withUnsafeBytes { try AnonymousFile.sealedReadOnly(contents: $0) }
        #expect(throws: DmabufFormatTable.Error.badSize(67)) {
            try DmabufFormatTable(fileDescriptor: file.fileDescriptor, size: bytes.count)
        }
    }

    @Test func anEmptyTableNeedsNoMapping() throws {
        let table = try DmabufFormatTable(fileDescriptor: FileDescriptor(rawValue: -1), size: 0)
        #expect(table.entries.isEmpty)
    }

    @Test func anUnmappableTableIsAnError() throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer {
            try? readEnd.close()
            try? writeEnd.close()
        }
        #expect(throws: DmabufFormatTable.Error.self) {
            try DmabufFormatTable(fileDescriptor: readEnd, size: 16)
        }
    }

    @Test func resolvesTrancheIndices() {
        let table = DmabufFormatTable(entries: Self.entries)
        var indices: [UInt8] = []
        for index: UInt16 in [3, 0, 9, 0] { withUnsafeBytes(of: index) { indices += $0 } }
        let (formats, invalid) = table.resolve(trancheIndices: indices)
        #expect(formats == [Self.entries[3], Self.entries[0], Self.entries[0]])
        #expect(invalid == [9])
        // An odd trailing byte is not an index.
        #expect(table.resolve(trancheIndices: [1, 0, 7]).formats == [Self.entries[1]])
    }
}

/// Real dma-bufs: run where the devices exist (`run-in-vm.sh --vgem -- <test binary>`).
@Suite(.serialized) struct DmaBufDeviceTests {
    static let dmaBufMagic = 0x444D_4142

    /// Allocates 100x50 (not a whole number of pages), draws through the CPU mapping inside the
    /// sync bracket, and reads the pixels back through a separate read-only map of the dma-buf
    /// descriptor, as a compositor would. Then checks nothing leaked.
    func allocateDrawAndReadBack(_ strategy: DmaBuf.Strategy) throws {
        let before = dmabufDescriptors()
        do {
            let buffer = try DmaBuf(width: 100, height: 50, strategy: strategy)
            #expect(buffer.strategy == strategy)
            #expect(buffer.failedAttempts.isEmpty)
            #expect(buffer.stride >= 400 && buffer.stride % 4 == 0)
            #expect(buffer.size >= buffer.stride * 50)
            #expect(buffer.offset == 0)
            #expect(buffer.format == DrmFormat.xrgb8888 && buffer.modifier == DrmModifier.linear)
            #expect(cw_fs_type(buffer.fileDescriptor.rawValue) == Self.dmaBufMagic, "not a dma-buf")
            #expect(fcntl(buffer.fileDescriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0)
            try buffer.withMutableBytes { bytes in
                for y in 0..<50 {
                    for x in 0..<100 {
                        bytes.storeBytes(of: UInt32(0xFF00_0000 | y << 8 | x), toByteOffset: y * buffer.stride + x * 4, as: UInt32.self)
                    }
                }
            }
            let mapped = mmap(nil, buffer.size, PROT_READ, MAP_SHARED, buffer.fileDescriptor.rawValue, 0)
            try #require(mapped != nil && mapped != MAP_FAILED, "mmap of the dma-buf: \(Errno(rawValue: errno))")
            defer { munmap(mapped, buffer.size) }
            try buffer.beginCPUAccess(.read)
            var wrong = 0
            for y in 0..<50 {
                for x in 0..<100 where mapped!.load(fromByteOffset: y * buffer.stride + x * 4, as: UInt32.self) != UInt32(0xFF00_0000 | y << 8 | x) {
                    wrong += 1
                }
            }
            try buffer.endCPUAccess(.read)
            #expect(wrong == 0, "\(wrong) pixels differ through the dma-buf's own mapping")
        }
        #expect(dmabufDescriptors() == before, "descriptors leaked")
    }

    @Test(.enabled(if: hasUdmabuf)) func udmabuf() throws { try allocateDrawAndReadBack(.udmabuf) }
    @Test(.enabled(if: hasDRI)) func dumb() throws { try allocateDrawAndReadBack(.dumb) }
    @Test(.enabled(if: hasHeap)) func heap() throws { try allocateDrawAndReadBack(.heap) }

    @Test(.enabled(if: !hasNoDevice)) func automaticTakesTheFirstThatWorks() throws {
        let buffer = try DmaBuf(width: 32, height: 32)
        let expected: DmaBuf.Strategy = hasUdmabuf ? .udmabuf : hasDRI ? .dumb : .heap
        #expect(buffer.strategy == expected || buffer.failedAttempts.count > 0)
        #expect(buffer.failedAttempts.map(\.strategy) == Array(DmaBuf.Strategy.automatic.chain.prefix(buffer.failedAttempts.count)))
    }

    /// The kernel refuses a memfd carrying F_SEAL_WRITE, and ClientKit says why.
    @Test(.enabled(if: hasUdmabuf)) func udmabufRejectsWriteSealedMemfd() throws {
        let contents = [UInt8](repeating: 7, count: 4096)
        let sealed = try contents.withUnsafeBytes { try AnonymousFile.sealedReadOnly(contents: $0) }
        let device = try FileDescriptor.open("/dev/udmabuf", .readWrite, options: .closeOnExec)
        defer { try? device.close() }
        #expect {
            _ = try DmaBuf.udmabufCreate(device: device, memfd: sealed.fileDescriptor, size: 4096)
        } throws: { error in
            // F_GET_SEALS also shows F_SEAL_EXEC (0x20) where MFD_NOEXEC_SEAL exists.
            "\(error)".hasPrefix("UDMABUF_CREATE on /dev/udmabuf failed: EINVAL (Invalid argument): the memfd carries F_SEAL_WRITE, which udmabuf rejects (F_GET_SEALS 0x")
        }
        // And one without F_SEAL_SHRINK: a memfd that allows sealing but has no seal.
        let bare = FileDescriptor(rawValue: cw_memfd_create("ckt-bare", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING)))
        defer { try? bare.close() }
        #expect(ftruncate(bare.rawValue, 4096) == 0)
        #expect {
            _ = try DmaBuf.udmabufCreate(device: device, memfd: bare, size: 4096)
        } throws: { error in
            "\(error)".hasSuffix("EINVAL (Invalid argument): the memfd lacks F_SEAL_SHRINK (F_GET_SEALS 0x0)")
        }
        // And a file that is not a memfd at all.
        let notMemfd = try FileDescriptor.open("/proc/self/stat", .readOnly, options: .closeOnExec)
        defer { try? notMemfd.close() }
        #expect {
            _ = try DmaBuf.udmabufCreate(device: device, memfd: notMemfd, size: 4096)
        } throws: { error in
            (error as? DmaBuf.Failure)?.errno == Errno(rawValue: EBADFD) && "\(error)".contains("not a memfd")
        }
    }
}
