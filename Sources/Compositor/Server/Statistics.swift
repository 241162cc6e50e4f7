import Buffers
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement
import CWayland

/// Per-client counters of what the seal policy saw: pools accepted per file class, refusals per
/// rule, shrunk pool files caught (by SIGBUS or at the latch), protocol errors sent. Written as
/// JSON by `--stats FILE.json`.
public struct ClientStatistics: Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var poolsAccepted: [String: Int] = [:]
    public var refusals: [String: Int] = [:]
    public var sigbusFaults = 0
    /// Pool files found shrunk under a committed buffer by the latch check (on-demand), unread.
    public var shrunkAtLatch = 0
    public var protocolErrors = 0
    /// The most bytes the client had mapped at once (pools and dma-bufs, ClientUsage), and the
    /// most pools and buffers it held at once. Totals give the largest of any client.
    public var peakMappedBytes = 0
    public var peakObjects = 0
    /// Commits held for their dma-buf's fences or explicit-sync acquire point (HeldCommits.swift),
    /// and those of them whose buffer missed `--fence-deadline` (the client was disconnected).
    public var heldCommits = 0
    public var fenceDeadlinesMissed = 0

    /// Adds `other`'s counters to these (pid and uid stay).
    package mutating func add(_ other: ClientStatistics) {
        poolsAccepted.merge(other.poolsAccepted, uniquingKeysWith: +)
        refusals.merge(other.refusals, uniquingKeysWith: +)
        sigbusFaults += other.sigbusFaults
        shrunkAtLatch += other.shrunkAtLatch
        protocolErrors += other.protocolErrors
        peakMappedBytes = max(peakMappedBytes, other.peakMappedBytes)
        peakObjects = max(peakObjects, other.peakObjects)
        heldCommits += other.heldCommits
        fenceDeadlinesMissed += other.fenceDeadlinesMissed
    }

    package var json: JSON {
        .object([
            "pid": .int(Int(pid)), "uid": .int(Int(uid)),
            "pools_accepted": .object(poolsAccepted.mapValues { .int($0) }),
            "refusals": .object(refusals.mapValues { .int($0) }),
            "sigbus_faults": .int(sigbusFaults), "shrunk_at_latch": .int(shrunkAtLatch), "protocol_errors": .int(protocolErrors),
            "peak_mapped_bytes": .int(peakMappedBytes), "peak_objects": .int(peakObjects),
            "held_commits": .int(heldCommits), "fence_deadlines_missed": .int(fenceDeadlinesMissed),
        ])
    }
}

/// Everything `--stats` writes: the policy, every client that connected (in order), and totals.
public struct Statistics: Sendable {
    public var sealPolicy: String
    /// Each client's counters: every client that connected when the server keeps them
    /// (`ServerConfiguration.keepClientStatistics`), else only those still connected.
    public var clients: [ClientStatistics]
    /// The departed clients not listed in `clients`, counters summed, and how many they were.
    public var folded = ClientStatistics(pid: 0, uid: 0)
    public var foldedCount = 0

    public var totals: ClientStatistics {
        var t = ClientStatistics(pid: 0, uid: 0)
        t.add(folded)
        for c in clients { t.add(c) }
        return t
    }

    public init(sealPolicy: String, clients: [ClientStatistics]) {
        self.sealPolicy = sealPolicy
        self.clients = clients
    }

    /// The `--stats` file: seal_policy, clients (in connection order) and totals.
    public func json() -> [UInt8] {
        let document = JSON.object([
            "seal_policy": .string(sealPolicy), "clients": .array(clients.map(\.json)), "totals": totals.json,
        ])
        return Array(document.text.utf8)
    }

    /// One line for the log at exit.
    public var summary: String {
        let t = totals
        func dict(_ d: [String: Int]) -> String { d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        return "clients=\(clients.count + foldedCount) pools-accepted=\(dict(t.poolsAccepted)) refusals=\(dict(t.refusals)) sigbus-faults=\(t.sigbusFaults) shrunk-at-latch=\(t.shrunkAtLatch) protocol-errors=\(t.protocolErrors) peak-mapped-bytes=\(t.peakMappedBytes) peak-objects=\(t.peakObjects) held-commits=\(t.heldCommits) fence-deadlines-missed=\(t.fenceDeadlinesMissed)"
    }
}
