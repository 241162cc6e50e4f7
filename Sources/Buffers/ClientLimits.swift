import Glibc

/// Per-client caps on what a client makes compositord map and keep (docs/robustness/hygiene.md,
/// "Per-client limits"). libwayland, wlroots and weston have none: a client there can map pools
/// until the compositor's address space runs out.
public struct ClientLimits: Sendable, Equatable {
    /// Bytes mapped on the client's behalf: every live wl_shm pool's size (a pool lives while a
    /// buffer of it does) plus every live dma-buf wl_buffer's size. The default, 64 GiB, is 64
    /// times foot's peak (two 512 MiB pools per window, and a foot server has every window on one
    /// connection), 32 times the largest pool wl_shm can express (docs/robustness/hygiene.md).
    public var memoryBytes: Int = 64 << 30
    /// wl_shm_pool and wl_buffer objects alive at once. Measured applications hold at most 20
    /// (foot, kitty) per window; hoard-buffers (LoadTests) holds 240.
    public var objects: Int = 4096
    /// Bytes mapped for all clients together: half of x86-64's 128 TiB user address space, so
    /// that many clients at their own limits cannot take the compositor's address space.
    public var totalMemoryBytes: Int = 64 << 40

    public init() {}

    /// Parses `4G`, `512M`, `65536`, `1.5G` (binary suffixes K, M, G, T, optional `iB`/`B`).
    public static func parseBytes(_ text: String) -> Int? {
        var t = text.uppercased()
        for suffix in ["IB", "B"] where t.hasSuffix(suffix) && t.count > suffix.count { t.removeLast(suffix.count); break }
        let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var shift = 0
        if let last = t.last, let s = shifts[last] { shift = s; t.removeLast() }
        guard !t.isEmpty, t.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(t), value >= 0 else { return nil }
        let bytes = value * Double(1 << shift)
        guard bytes < Double(Int64.max / 2) else { return nil }
        return Int(bytes.rounded(.down))
    }

    /// `68719476736` as `64 GiB` where it is a whole number of KiB, MiB, GiB or TiB.
    public static func describe(bytes: Int) -> String {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }
}
