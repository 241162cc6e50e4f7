import Buffers
import CWayland
import Logging
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Who is connected: credentials for logs, and a destroy listener per client.
package final class Clients {
    package struct Info {
        package let pid: pid_t, uid: uid_t, gid: gid_t
        /// /proc/PID/exe at connection, for logs and quirks.
        package let executable: String?
        /// Shown the v4 xdg_wm_base (ClientQuirks.xdgWmBaseAtMostV4).
        package var xdgWmBaseV4 = false
        /// compositord has sealed one of this client's pools and said so (logged once per client).
        package var sealedOnBehalfLogged = false
    }

    private let logger: Logger
    private var infos: [OpaquePointer: Info] = [:]
    /// Counters of the connected clients, with their connection number (for `--stats` order).
    private var live: [OpaquePointer: (number: Int, statistics: ClientStatistics)] = [:]
    private var connections = 0
    /// Departed clients' counters: each kept when asked (`--stats` lists every client), else
    /// summed, so a server that sees millions of connections does not grow with them.
    private let keepDeparted: Bool
    private var departed: [(number: Int, statistics: ClientStatistics)] = []
    package private(set) var folded = ClientStatistics(pid: 0, uid: 0)
    package private(set) var foldedCount = 0
    private var destroyListeners: [OpaquePointer: Listener] = [:]
    /// What each connected client makes compositord hold, against `limits`.
    private var usages: [OpaquePointer: ClientUsage] = [:]
    private let limits: ClientLimits
    /// Every client's mapped bytes together.
    package let ledger: MemoryLedger
    private var createdListener: Listener?
    /// Called after a client has gone and all its resources were destroyed.
    package var onDisconnect: (OpaquePointer) -> Void = { _ in }

    package init(display: OpaquePointer, logger: Logger, keepDeparted: Bool, limits: ClientLimits = ClientLimits()) {
        self.logger = logger
        self.limits = limits
        ledger = MemoryLedger(limit: limits.totalMemoryBytes)
        self.keepDeparted = keepDeparted
        createdListener = Listener { [unowned self] data in
            guard let data else { return }
            self.connected(OpaquePointer(data))
        }
        createdListener?.listen(toClientCreated: display)
    }

    package var count: Int { infos.count }

    package func info(_ client: OpaquePointer) -> Info? { infos[client] }

    package func usage(_ client: OpaquePointer) -> ClientUsage? { usages[client] }

    /// True the first time it is asked for `client`: its first pool sealed on its behalf.
    package func firstSealedOnBehalf(_ client: OpaquePointer) -> Bool {
        guard let info = infos[client], !info.sealedOnBehalfLogged else { return false }
        infos[client]!.sealedOnBehalfLogged = true
        return true
    }

    /// Updates the statistics of a connected client.
    package func record(_ client: OpaquePointer, _ update: (inout ClientStatistics) -> Void) {
        guard live[client] != nil else { return }
        update(&live[client]!.statistics)
    }

    /// The kept clients' counters (departed and connected), in connection order.
    package var statistics: [ClientStatistics] {
        (departed + live.map { client, entry in (entry.number, withPeaks(entry.statistics, client)) })
            .sorted { $0.number < $1.number }.map(\.statistics)
    }

    /// A client's counters with its usage peaks filled in.
    private func withPeaks(_ statistics: ClientStatistics, _ client: OpaquePointer) -> ClientStatistics {
        guard let usage = usages[client] else { return statistics }
        var s = statistics
        s.peakMappedBytes = usage.peakBytes
        s.peakObjects = usage.peakObjects
        return s
    }

    private func connected(_ client: OpaquePointer) {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        wl_client_get_credentials(client, &pid, &uid, &gid)
        let exe = ClientQuirks.executable(pid: pid)
        let v4 = exe.map(ClientQuirks.xdgWmBaseAtMostV4.contains) ?? false
        infos[client] = Info(pid: pid, uid: uid, gid: gid, executable: exe, xdgWmBaseV4: v4)
        if v4 { logger.notice("client quirk: shown xdg_wm_base v4", metadata: ["pid": "\(pid)", "exe": "\(exe ?? "-")"]) }
        live[client] = (connections, ClientStatistics(pid: pid, uid: uid))
        usages[client] = ClientUsage(limits: limits, ledger: ledger)
        connections += 1
        logger.info("client connected", metadata: ["pid": "\(pid)", "uid": "\(uid)", "gid": "\(gid)"])
        let listener = Listener { [unowned self] _ in self.disconnected(client) }
        listener.listen(toClientDestroy: client)
        destroyListeners[client] = listener
    }

    private func disconnected(_ client: OpaquePointer) {
        let info = infos.removeValue(forKey: client)
        var entry = live.removeValue(forKey: client)
        if entry != nil { entry!.statistics = withPeaks(entry!.statistics, client) }
        // What outlives the client (buffers still on screen) releases into nothing from here on.
        let usage = usages.removeValue(forKey: client)
        if let entry {
            if keepDeparted { departed.append(entry) } else { folded.add(entry.statistics); foldedCount += 1 }
        }
        let stats = entry?.statistics
        destroyListeners.removeValue(forKey: client)
        logger.info("client disconnected", metadata: [
            "pid": "\(info?.pid ?? 0)", "uid": "\(info?.uid ?? 0)", "protocol-errors": "\(stats?.protocolErrors ?? 0)",
            "sigbus-faults": "\(stats?.sigbusFaults ?? 0)", "shrunk-at-latch": "\(stats?.shrunkAtLatch ?? 0)",
            "peak-mapped-bytes": "\(usage?.peakBytes ?? 0)", "peak-objects": "\(usage?.peakObjects ?? 0)",
        ])
        onDisconnect(client)
    }

    /// "pid=… uid=…" for log lines about a client.
    package func describe(_ client: OpaquePointer) -> String {
        guard let i = infos[client] else { return "unknown" }
        return "pid=\(i.pid) uid=\(i.uid)"
    }
}
