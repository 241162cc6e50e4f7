import Glibc
import WaylandTestSupport

/// A fuzz client that sends bytes, not requests: garbage, truncated headers, sizes that lie,
/// object id 0, huge opcodes, odd sizes, valid prefixes followed by noise, each sendmsg with 0 to
/// 28 fds attached (SCM_RIGHTS) or none. It then asks wl_display.sync and sees what comes back.
final class RawSession: FuzzSession {
    let index: Int
    let seed: UInt64
    let kind = "raw"
    let connection: WireConnection
    private(set) var outcome: SessionOutcome?
    private(set) var requestCount = 0

    private var rng: FuzzRandom
    private let fds = FdFactory()
    private let replyTimeout: Double
    private let stallTimeout: Double
    private var chunksLeft: Int
    private var sync: (id: UInt32, deadline: Double)?
    private var hangUpDeadline: Double?
    private var poked = false
    private let abandon: Bool

    init(index: Int, seed: UInt64, socketPath: String, replyTimeout: Double, stallTimeout: Double) throws {
        self.index = index
        self.seed = seed
        self.replyTimeout = replyTimeout
        self.stallTimeout = stallTimeout
        rng = FuzzRandom(seed: seed)
        connection = try WireConnection(path: socketPath, interfaces: Catalog.interface)
        chunksLeft = rng.int(1...6)
        abandon = rng.chance(0.1)
    }

    var isBusy: Bool { outcome == nil && sync == nil && hangUpDeadline == nil }

    func close() {
        if outcome == nil { outcome = .abandoned }
        connection.close()
        fds.closeAll()
    }

    private func finish(_ outcome: SessionOutcome) {
        guard self.outcome == nil else { return }
        self.outcome = outcome
        connection.close()
        fds.closeAll()
    }

    func step(now: Double) {
        guard outcome == nil else { return }
        if let error = connection.protocolError {
            if connection.isClosed { return finish(.protocolError(error)) }
            if hangUpDeadline == nil { hangUpDeadline = now + replyTimeout }
            if !poked, now > hangUpDeadline! - replyTimeout + 1 {
                poked = true
                connection.request(1, "sync", [.freshID])
                connection.flush()
            }
            if now > hangUpDeadline! { finish(.hang("wl_display.error \(error.key) but no hang-up within \(Int(replyTimeout)) s")) }
            return
        }
        if connection.isClosed { return finish(.disconnected(connection.closedReason ?? "")) }
        if let s = sync {
            if connection.objects[s.id]?.deleted == true { return finish(.alive) }
            // Not a hang by itself: the compositor may be waiting for the rest of a message. The
            // runner checks the observer (and so the compositor) before counting it as a stall.
            if now > s.deadline { return finish(.stalled) }
            return
        }
        if chunksLeft > 0 {
            chunksLeft -= 1
            sendChunk()
        } else if abandon {
            connection.flush()
            return finish(.abandoned)
        } else {
            let id = connection.request(1, "sync", [.freshID])[0]
            connection.register(id: id, interface: "wl_callback", version: 1)
            sync = (id, now + stallTimeout)
        }
        connection.flush()
    }

    private func header(object: UInt32, opcode: UInt32, size: Int) -> [UInt8] {
        var e = WireEncoder()
        e.word(object)
        e.word(UInt32(size & 0xFFFF) << 16 | (opcode & 0xFFFF))
        return e.body
    }

    private func sendChunk() {
        requestCount += 1
        var bytes: [UInt8]
        let kind: String
        switch rng.int(0..<10) {
        case 0:
            kind = "random bytes"
            bytes = rng.bytes(rng.int(1...4096))
        case 1:
            kind = "truncated header"
            bytes = Array(header(object: 1, opcode: 0, size: 12).prefix(rng.int(1...7)))
        case 2:
            // The header promises more than arrives (even more than libwayland's 4096-byte buffer).
            kind = "size that lies"
            let size = rng.pick([12, 16, 64, 4096, 4100, 0xFFFF, rng.int(9...4096)])
            bytes = header(object: 1, opcode: UInt32(rng.int(0...1)), size: size) + rng.bytes(rng.int(0...max(0, min(size - 9, 64))))
        case 3:
            kind = "unknown object"
            bytes = header(object: rng.pick([0, 0xFFFF_FFFF, 0xFF00_0000, UInt32(rng.int(2...1000))]), opcode: 0, size: 12) + rng.bytes(4)
        case 4:
            kind = "huge opcode"
            bytes = header(object: 1, opcode: rng.pick([2, 3, 0xFF, 0xFFFF]), size: 12) + rng.bytes(4)
        case 5:
            kind = "size below header"
            bytes = header(object: 1, opcode: 0, size: rng.int(0...7)) + rng.bytes(rng.int(0...8))
        case 6:
            kind = "unaligned size"
            let size = rng.pick([9, 10, 11, 13, 14, 15, 17])
            bytes = header(object: 1, opcode: 0, size: size) + rng.bytes(size - 8)
        case 7:
            // get_registry + sync, then noise: the compositor has objects and events in flight.
            kind = "valid prefix then noise"
            var e = WireEncoder()
            e.word(connection.peekNextID)
            bytes = header(object: 1, opcode: 1, size: 12) + e.body
            _ = connection.allocateID()
            bytes += rng.bytes(rng.int(1...256))
        case 8:
            kind = "random message"
            let size = 8 + 4 * rng.int(0...14)
            bytes = header(object: UInt32(rng.int(1...4)), opcode: UInt32(rng.int(0...3)), size: size) + rng.bytes(size - 8)
        default:
            // Many well-formed syncs with ids that are taken, skipped, or the server's.
            kind = "sync flood"
            bytes = []
            for _ in 0..<rng.int(1...200) {
                var e = WireEncoder()
                e.word(rng.pick([1, 2, connection.peekNextID, 0xFF00_0000, UInt32(rng.int(2...100))]))
                bytes += header(object: 1, opcode: 0, size: 12) + e.body
            }
        }
        var attached: [(fd: Int32, kind: String)] = []
        if rng.chance(0.5) {
            for _ in 0..<rng.int(0...28) { if let f = fds.random(&rng) { attached.append((f.fd, f.kind)) } }
        }
        let text = "raw \(kind): \(bytes.count) bytes \(hex(bytes.prefix(32)))" + (attached.isEmpty ? "" : " + \(attached.count) fds")
        connection.enqueue(OutgoingMessage(bytes: bytes, fds: attached.map(\.fd), text: text))
    }

    private func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
