import CWayland
import Logging

/// What one client makes compositord hold, checked against `ClientLimits` before anything is
/// mapped: bytes (every live wl_shm pool's size, every live dma-buf wl_buffer's size) and objects
/// (pools and buffers).
///
/// Each thing held is a `Charge`, released when it goes: a pool's when the pool's mapping goes
/// (ShmPool deinit: the last buffer of a destroyed pool), a wl_buffer's when its resource is
/// destroyed. The connection's `Clients` entry owns the usage; charges point at it weakly, so
/// whatever outlives the client releases into nothing.
package final class ClientUsage {
    package let limits: ClientLimits
    package let ledger: MemoryLedger
    package private(set) var bytes = 0
    package private(set) var objects = 0
    package private(set) var peakBytes = 0
    package private(set) var peakObjects = 0
    /// Charges released by their resource's destroy signal. Each listener is kept until the
    /// next charge, never freed while its own signal fires.
    private var held: [ObjectIdentifier: Hold] = [:]
    private var spent: [Hold] = []

    package init(limits: ClientLimits, ledger: MemoryLedger) {
        self.limits = limits
        self.ledger = ledger
    }

    package enum Refusal: Error {
        case memory(held: Int, adding: Int, limit: Int)
        case objects(held: Int, limit: Int)
        /// All clients together (ClientLimits.totalMemoryBytes).
        case total(held: Int, adding: Int, limit: Int)

        package var rule: String {
            switch self {
            case .memory: "client-memory-limit"
            case .objects: "client-buffer-limit"
            case .total: "total-memory-limit"
            }
        }

        /// What the client is told (the log adds who it is). libwayland 1.21 cuts error messages
        /// at 127 bytes: these stay near 100 with 11-digit figures.
        /// `what` is "a new pool", "a resize", "this dma-buf".
        package func message(what: String) -> String {
            switch self {
            case let .memory(held, adding, limit):
                "maps \(held) bytes; \(what) of \(adding) bytes would pass --max-client-memory \(limit) (\(ClientLimits.describe(bytes: limit)))"
            case let .objects(held, limit):
                "holds \(held) pools and buffers, the limit is \(limit) (--max-client-buffers): destroy the ones it no longer uses"
            case let .total(held, adding, limit):
                "compositor maps \(held) bytes for all clients; \(what) of \(adding) bytes would pass its total of \(ClientLimits.describe(bytes: limit))"
            }
        }
    }

    /// Checks that `bytes` more and `objects` more fit, without charging.
    package func check(bytes more: Int, objects moreObjects: Int) throws(Refusal) {
        if moreObjects > 0, objects + moreObjects > limits.objects { throw .objects(held: objects, limit: limits.objects) }
        if more > 0, more > limits.memoryBytes - bytes { throw .memory(held: bytes, adding: more, limit: limits.memoryBytes) }
        if more > 0, more > ledger.limit - ledger.bytes { throw .total(held: ledger.bytes, adding: more, limit: ledger.limit) }
    }

    /// Charges `bytes` and `objects` (checked first); released when the charge goes.
    package func charge(bytes: Int, objects: Int) throws(Refusal) -> Charge {
        try check(bytes: bytes, objects: objects)
        spent.removeAll()
        return Charge(usage: self, bytes: bytes, objects: objects)
    }

    /// Keeps `charge` until `resource` is destroyed.
    package func hold(_ charge: Charge, until resource: OpaquePointer) {
        let hold = Hold(charge: charge)
        let key = ObjectIdentifier(hold)
        hold.listener = Listener { [weak self, unowned hold] _ in
            hold.charge = nil
            guard let self, let hold = self.held.removeValue(forKey: key) else { return }
            self.spent.append(hold)
        }
        hold.listener?.listen(toResourceDestroy: resource)
        held[key] = hold
    }

    fileprivate func add(bytes: Int, objects: Int) {
        self.bytes += bytes
        self.objects += objects
        peakBytes = max(peakBytes, self.bytes)
        peakObjects = max(peakObjects, self.objects)
    }

    private final class Hold {
        package var charge: Charge?
        package var listener: Listener?
        package init(charge: Charge) { self.charge = charge }
    }
}

/// Bytes mapped for all clients together, against `ClientLimits.totalMemoryBytes`.
package final class MemoryLedger {
    package let limit: Int
    package fileprivate(set) var bytes = 0
    package init(limit: Int) { self.limit = limit }
}

/// Bytes and objects one thing holds on its client's `ClientUsage` (and its bytes on the
/// ledger of all clients), given back at deinit. The ledger is held strongly: what outlives its
/// client still gives its bytes back there.
package final class Charge {
    private weak var usage: ClientUsage?
    private let ledger: MemoryLedger
    package private(set) var bytes: Int
    package let objects: Int

    fileprivate init(usage: ClientUsage, bytes: Int, objects: Int) {
        self.usage = usage
        ledger = usage.ledger
        self.bytes = bytes
        self.objects = objects
        usage.add(bytes: bytes, objects: objects)
        ledger.bytes += bytes
    }

    /// Throws when growing to `newBytes` would pass the limit.
    package func checkGrowth(to newBytes: Int) throws(ClientUsage.Refusal) {
        guard newBytes > bytes, let usage else { return }
        try usage.check(bytes: newBytes - bytes, objects: 0)
    }

    /// A pool grew (after `checkGrowth`): charges the difference.
    package func grow(to newBytes: Int) {
        guard newBytes > bytes else { return }
        usage?.add(bytes: newBytes - bytes, objects: 0)
        ledger.bytes += newBytes - bytes
        bytes = newBytes
    }

    deinit {
        usage?.add(bytes: -bytes, objects: -objects)
        ledger.bytes -= bytes
    }
}
