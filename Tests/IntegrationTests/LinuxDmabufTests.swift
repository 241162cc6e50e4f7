import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// zwp_linux_dmabuf_v1 on the host (no dma-buf exporter here): the feedback and its sealed
/// format table, the v3 events, and every zwp_linux_buffer_params_v1 error with its exact code.
/// Planes are memfds: validation happens before the import, which then fails (not a dma-buf).
@Suite struct LinuxDmabufTests {
    static let xr24: UInt32 = 0x3432_5258
    let timeout = Duration.seconds(15)

    /// Records the events of one feedback or params object (C listeners need static storage).
    final class Events {
        var tableFD: Int32 = -1, tableSize: UInt32 = 0
        var mainDevice: [UInt8] = []
        var trancheIndices: [UInt16] = []
        var done = false
        var created: OpaquePointer?
        var failed = false
        var modifiers: [(UInt32, UInt64)] = []
    }

    func connect(_ c: CompositorProcess) throws -> ClientContext {
        try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
    }

    func memfd(size: Int) -> Int32 {
        let fd = cw_memfd_create("plane", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
        precondition(fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0)
        return fd
    }

    @Test func v4FeedbackSendsTheSealedFormatTable() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let dmabuf = try context.registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), maxVersion: 4)
        #expect(dmabuf.version == 4)
        let events = Events()
        let feedback = zwp_linux_dmabuf_v1_get_default_feedback(dmabuf.proxy)!
        zwp_linux_dmabuf_feedback_v1_add_listener(feedback, feedbackListener, Unmanaged.passUnretained(events).toOpaque())
        try context.connection.wait(timeout: timeout) { events.done }.orThrow(waitingFor: "feedback done")

        #expect(events.tableSize == 13 * 16)
        #expect(events.tableFD >= 0)
        let seals = fcntl(events.tableFD, Int32(CW_F_GET_SEALS))
        let all = Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL)
        #expect(seals & all == all, "format table seals 0x\(String(seals, radix: 16))")
        let map = try #require(mmap(nil, Int(events.tableSize), PROT_READ, MAP_PRIVATE, events.tableFD, 0))
        defer { munmap(map, Int(events.tableSize)); close(events.tableFD) }
        var pairs: [(UInt32, UInt64)] = []
        for i in 0..<13 {
            pairs.append((map.load(fromByteOffset: i * 16, as: UInt32.self), map.load(fromByteOffset: i * 16 + 8, as: UInt64.self)))
        }
        #expect(pairs.allSatisfy { $0.1 == 0 }, "every entry is DRM_FORMAT_MOD_LINEAR")
        #expect(pairs.contains { $0.0 == Self.xr24 } && pairs.contains { $0.0 == 0x3432_5241 })  // XR24, AR24
        #expect(events.trancheIndices == (0..<13).map { UInt16($0) })
        #expect(events.mainDevice.count == 8, "main_device carries a dev_t")
        #expect(pwrite(events.tableFD, [UInt8(1)], 1, 0) == -1, "the table is write-sealed")
    }

    @Test func v3ClientsGetModifierEvents() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let dmabuf = try context.registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), maxVersion: 3)
        let events = Events()
        zwp_linux_dmabuf_v1_add_listener(dmabuf.proxy, dmabufListener, Unmanaged.passUnretained(events).toOpaque())
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "modifiers")
        #expect(events.modifiers.count == 13)
        #expect(events.modifiers.contains { $0.0 == Self.xr24 && $0.1 == 0 })
    }

    @Test func createWithAMemfdFailsAndParamsAreThenUsed() throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let dmabuf = try context.registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), maxVersion: 4)
        let events = Events()
        let params = zwp_linux_dmabuf_v1_create_params(dmabuf.proxy)!
        zwp_linux_buffer_params_v1_add_listener(params, paramsListener, Unmanaged.passUnretained(events).toOpaque())
        let fd = memfd(size: 64 * 64 * 4)
        zwp_linux_buffer_params_v1_add(params, fd, 0, 0, 256, 0, 0)
        close(fd)
        zwp_linux_buffer_params_v1_create(params, 64, 64, Self.xr24, 0)
        try context.connection.wait(timeout: timeout) { events.failed || events.created != nil }.orThrow(waitingFor: "created/failed")
        #expect(events.failed, "a memfd is not a dma-buf: import fails with the non-fatal failed event")
        #expect(c.log.contains("not a dma-buf"))
        // The params object is used up: adding again is already_used.
        let fd2 = memfd(size: 4096)
        zwp_linux_buffer_params_v1_add(params, fd2, 0, 0, 256, 0, 0)
        close(fd2)
        try expectError(context, code: 0)
    }

    /// One violation per case: what to send, and the params error code that must come back.
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let code: UInt32
        let messageContains: String
        let planes: [(index: UInt32, offset: UInt32, stride: UInt32, modifier: UInt64)]
        var width: Int32 = 64, height: Int32 = 64, format: UInt32 = LinuxDmabufTests.xr24, flags: UInt32 = 0
        var createTwice = false
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "plane index 4", code: 1, messageContains: "plane index 4", planes: [(4, 0, 256, 0)]),
        Case(name: "plane set twice", code: 2, messageContains: "already added", planes: [(0, 0, 256, 0), (0, 0, 256, 0)]),
        Case(name: "no planes", code: 3, messageContains: "no planes", planes: []),
        Case(name: "gap in planes", code: 3, messageContains: "gap", planes: [(1, 0, 256, 0)]),
        Case(name: "too many planes", code: 3, messageContains: "1 plane", planes: [(0, 0, 256, 0), (1, 0, 256, 0)]),
        Case(name: "format not advertised", code: 4, messageContains: "not advertised", planes: [(0, 0, 256, 0)], format: 0x3231_564E),  // NV12
        Case(name: "modifier not advertised", code: 4, messageContains: "not advertised", planes: [(0, 0, 256, 0x0100_0000_0000_0001)]),
        Case(name: "planes with different modifiers", code: 4, messageContains: "different modifiers",
             planes: [(0, 0, 256, 0), (1, 0, 256, 0x0100_0000_0000_0001)]),
        Case(name: "zero width", code: 5, messageContains: "not positive", planes: [(0, 0, 256, 0)], width: 0),
        Case(name: "stride × height past the fd", code: 6, messageContains: "needs", planes: [(0, 0, 512, 0)]),
        Case(name: "offset near UINT32_MAX", code: 6, messageContains: "needs", planes: [(0, UInt32.max - 8, 256, 0)]),
        Case(name: "stride smaller than a row", code: 6, messageContains: "needs", planes: [(0, 0, 128, 0)]),
        Case(name: "create_immed of a memfd", code: 7, messageContains: "not a dma-buf", planes: [(0, 0, 256, 0)]),
        Case(name: "interlaced flag", code: 7, messageContains: "flags", planes: [(0, 0, 256, 0)], flags: 2),
        Case(name: "create_immed after create", code: 0, messageContains: "already used", planes: [(0, 0, 256, 0)], createTwice: true),
    ]

    @Test(arguments: cases)
    func paramsErrors(_ violation: Case) throws {
        let c = try CompositorProcess()
        let context = try connect(c)
        let dmabuf = try context.registry.bind("zwp_linux_dmabuf_v1", table: cw_zwp_linux_dmabuf_v1_interface(), maxVersion: 4)
        let params = zwp_linux_dmabuf_v1_create_params(dmabuf.proxy)!
        for p in violation.planes {
            let fd = memfd(size: 64 * 64 * 4)  // exactly one 64×64 XRGB8888 buffer at stride 256
            zwp_linux_buffer_params_v1_add(params, fd, p.index, p.offset, p.stride, UInt32(p.modifier >> 32), UInt32(p.modifier & 0xFFFF_FFFF))
            close(fd)
        }
        if violation.createTwice {
            // create fails without a fatal error (a memfd is no dma-buf); the params are used up.
            zwp_linux_buffer_params_v1_create(params, violation.width, violation.height, violation.format, violation.flags)
        }
        _ = zwp_linux_buffer_params_v1_create_immed(params, violation.width, violation.height, violation.format, violation.flags)
        try expectError(context, code: violation.code, contains: violation.messageContains)
        #expect(c.isRunning)
    }

    private func expectError(_ context: ClientContext, code: UInt32, contains text: String = "") throws {
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("no protocol error")
        } catch let error as ProtocolError {
            #expect(error.interface == "zwp_linux_buffer_params_v1", "\(error)")
            #expect(error.code == code, "\(error)")
            #expect(text.isEmpty || error.message.contains(text), "\(error)")
        }
    }
}

private func events(_ data: UnsafeMutableRawPointer?) -> LinuxDmabufTests.Events {
    Unmanaged<LinuxDmabufTests.Events>.fromOpaque(data!).takeUnretainedValue()
}

private func bytes(_ array: UnsafeMutablePointer<wl_array>?) -> [UInt8] {
    guard let a = array?.pointee, let d = a.data else { return [] }
    return Array(UnsafeRawBufferPointer(start: d, count: a.size))
}

nonisolated(unsafe) private let feedbackListener: UnsafeMutablePointer<zwp_linux_dmabuf_feedback_v1_listener> = {
    let l = UnsafeMutablePointer<zwp_linux_dmabuf_feedback_v1_listener>.allocate(capacity: 1)
    l.initialize(to: zwp_linux_dmabuf_feedback_v1_listener(
        done: { data, _ in events(data).done = true },
        format_table: { data, _, fd, size in events(data).tableFD = fd; events(data).tableSize = size },
        main_device: { data, _, array in events(data).mainDevice = bytes(array) },
        tranche_done: { _, _ in },
        tranche_target_device: { _, _, _ in },
        tranche_formats: { data, _, array in
            let b = bytes(array)
            events(data).trancheIndices = stride(from: 0, to: b.count, by: 2).map { UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8 }
        },
        tranche_flags: { _, _, _ in }))
    return l
}()

nonisolated(unsafe) private let paramsListener: UnsafeMutablePointer<zwp_linux_buffer_params_v1_listener> = {
    let l = UnsafeMutablePointer<zwp_linux_buffer_params_v1_listener>.allocate(capacity: 1)
    l.initialize(to: zwp_linux_buffer_params_v1_listener(
        created: { data, _, buffer in events(data).created = buffer },
        failed: { data, _ in events(data).failed = true }))
    return l
}()

nonisolated(unsafe) private let dmabufListener: UnsafeMutablePointer<zwp_linux_dmabuf_v1_listener> = {
    let l = UnsafeMutablePointer<zwp_linux_dmabuf_v1_listener>.allocate(capacity: 1)
    l.initialize(to: zwp_linux_dmabuf_v1_listener(
        format: { _, _, _ in },
        modifier: { data, _, format, hi, lo in events(data).modifiers.append((format, UInt64(hi) << 32 | UInt64(lo))) }))
    return l
}()
