// FoundationEssentials, not Foundation: JSONEncoder without ICU and Foundation's other libraries,
// which would add ~10 MB of mapped pages to the resident set of a process that never needs them.
import FoundationEssentials

/// Per-client counters of what the seal policy saw: pools accepted per file class, refusals per
/// rule, SIGBUS faults caught, protocol errors sent. Written as JSON by `--stats FILE.json`.
public struct ClientStatistics: Codable, Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var poolsAccepted: [String: Int] = [:]
    public var refusals: [String: Int] = [:]
    public var sigbusFaults = 0
    public var protocolErrors = 0

    enum CodingKeys: String, CodingKey {
        case pid, uid
        case poolsAccepted = "pools_accepted"
        case refusals
        case sigbusFaults = "sigbus_faults"
        case protocolErrors = "protocol_errors"
    }
}

/// Everything `--stats` writes: the policy, every client that connected (in order), and totals.
public struct Statistics: Codable, Sendable {
    public var sealPolicy: String
    public var clients: [ClientStatistics]

    public var totals: ClientStatistics {
        var t = ClientStatistics(pid: 0, uid: 0)
        for c in clients {
            t.poolsAccepted.merge(c.poolsAccepted, uniquingKeysWith: +)
            t.refusals.merge(c.refusals, uniquingKeysWith: +)
            t.sigbusFaults += c.sigbusFaults
            t.protocolErrors += c.protocolErrors
        }
        return t
    }

    enum CodingKeys: String, CodingKey {
        case sealPolicy = "seal_policy", clients, totals
    }

    public init(sealPolicy: String, clients: [ClientStatistics]) {
        self.sealPolicy = sealPolicy
        self.clients = clients
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sealPolicy = try c.decode(String.self, forKey: .sealPolicy)
        clients = try c.decode([ClientStatistics].self, forKey: .clients)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sealPolicy, forKey: .sealPolicy)
        try c.encode(clients, forKey: .clients)
        try c.encode(totals, forKey: .totals)
    }

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// One line for the log at exit.
    public var summary: String {
        let t = totals
        func dict(_ d: [String: Int]) -> String { d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        return "clients=\(clients.count) pools-accepted=\(dict(t.poolsAccepted)) refusals=\(dict(t.refusals)) sigbus-faults=\(t.sigbusFaults) protocol-errors=\(t.protocolErrors)"
    }
}
