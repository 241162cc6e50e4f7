@testable import Compositor
@testable import SurfaceModel
import Testing
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// Per-client limits and the ledger of all clients (Server/ClientUsage.swift).
@Suite struct ClientUsageTests {
    static func limits(memory: Int, objects: Int = 100, total: Int) -> ClientLimits {
        var l = ClientLimits()
        l.memoryBytes = memory
        l.objects = objects
        l.totalMemoryBytes = total
        return l
    }

    @Test func chargesAreCheckedAndGivenBack() throws {
        let ledger = MemoryLedger(limit: 1 << 20)
        let usage = ClientUsage(limits: Self.limits(memory: 600 << 10, objects: 3, total: 1 << 20), ledger: ledger)
        var a: Charge? = try usage.charge(bytes: 500 << 10, objects: 1)
        #expect(throws: ClientUsage.Refusal.self) { _ = try usage.charge(bytes: 200 << 10, objects: 1) }
        #expect(throws: ClientUsage.Refusal.self) { try a!.checkGrowth(to: 700 << 10) }
        try a!.checkGrowth(to: 600 << 10)
        a!.grow(to: 600 << 10)
        #expect(usage.bytes == 600 << 10 && ledger.bytes == 600 << 10)
        let b = try usage.charge(bytes: 0, objects: 1)
        let c = try usage.charge(bytes: 0, objects: 1)
        do {
            _ = try usage.charge(bytes: 0, objects: 1)
            Issue.record("a fourth object was charged")
        } catch {
            #expect(error.rule == "client-buffer-limit")
            #expect(error.message(what: "a wl_buffer") == "holds 3 pools and buffers, the limit is 3 (--max-client-buffers): destroy the ones it no longer uses")
        }
        a = nil
        #expect(usage.bytes == 0 && usage.objects == 2 && usage.peakBytes == 600 << 10 && usage.peakObjects == 3)
        withExtendedLifetime((b, c)) {}
    }

    /// Clients within their own limits are still refused past the total of all clients, and
    /// what outlives its client gives its bytes back to the ledger.
    @Test func theLedgerBoundsAllClientsTogether() throws {
        let ledger = MemoryLedger(limit: 1 << 20)
        let limits = Self.limits(memory: 800 << 10, total: 1 << 20)
        var first: ClientUsage? = ClientUsage(limits: limits, ledger: ledger)
        let second = ClientUsage(limits: limits, ledger: ledger)
        var kept: Charge? = try first!.charge(bytes: 700 << 10, objects: 1)
        do {
            _ = try second.charge(bytes: 400 << 10, objects: 1)
            Issue.record("the total was passed")
        } catch {
            #expect(error.rule == "total-memory-limit")
            #expect(error.message(what: "a new pool") == "compositor maps 716800 bytes for all clients; a new pool of 409600 bytes would pass its total of 1 MiB")
        }
        first = nil  // the client left; its pool is still shown
        #expect(ledger.bytes == 700 << 10)
        kept = nil
        #expect(ledger.bytes == 0)
        _ = try second.charge(bytes: 400 << 10, objects: 1)
        withExtendedLifetime(kept) {}
    }

    @Test func sizesParseWithBinarySuffixes() {
        #expect(ClientLimits.parseBytes("64G") == 64 << 30)
        #expect(ClientLimits.parseBytes("512M") == 512 << 20)
        #expect(ClientLimits.parseBytes("1.5g") == 3 << 29)
        #expect(ClientLimits.parseBytes("20KiB") == 20 << 10)
        #expect(ClientLimits.parseBytes("65536") == 65536)
        #expect(ClientLimits.parseBytes("2T") == 2 << 40)
        for bad in ["", "G", "lots", "-1", "1Q", "99999999999T"] { #expect(ClientLimits.parseBytes(bad) == nil, "\(bad)") }
        #expect(ClientLimits.describe(bytes: 64 << 30) == "64 GiB")
        #expect(ClientLimits.describe(bytes: 20 << 10) == "20 KiB")
        #expect(ClientLimits.describe(bytes: 1000) == "1000 bytes")
        #expect(ClientLimits().memoryBytes == 64 << 30 && ClientLimits().objects == 4096 && ClientLimits().totalMemoryBytes == 64 << 40)
    }
}
