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

extension Server {
    /// The usage of the client `request` came from (nil only for a client already gone).
    package func usage(of client: OpaquePointer) -> ClientUsage? { clients.usage(client) }

    /// A request would take its client past a limit: one log line, a count under the limit's
    /// rule, and `wl_display.error(no_memory)` with the reason (the client is disconnected).
    /// wl_shm has no error for "too much"; no_memory is libwayland's own answer when it cannot
    /// allocate for a client (`wl_client_post_no_memory`).
    package func limitRefused(_ client: OpaquePointer, _ refusal: ClientUsage.Refusal, what: String) {
        let message = refusal.message(what: what)
        recordLimitRefusal(client, refusal, message: message)
        if let displayResource = wl_client_get_object(client, 1) {
            post(WlDisplayError.noMemory, on: displayResource, message)
        }
    }

    /// Counts and logs a limit refusal (the caller answers the client).
    package func recordLimitRefusal(_ client: OpaquePointer, _ refusal: ClientUsage.Refusal, message: String) {
        clients.record(client) { $0.refusals[refusal.rule, default: 0] += 1 }
        let usage = clients.usage(client)
        logger.warning("client limit reached", metadata: [
            "client": "\(clients.describe(client))", "rule": "\(refusal.rule)", "mapped-bytes": "\(usage?.bytes ?? 0)",
            "objects": "\(usage?.objects ?? 0)", "all-clients-bytes": "\(usage?.ledger.bytes ?? 0)",
            "max-client-memory": "\(configuration.clientLimits.memoryBytes)",
            "max-client-buffers": "\(configuration.clientLimits.objects)", "reason": "\(message)",
        ])
    }
}

extension Server: ProtocolContext {
    package func describe(_ client: OpaquePointer) -> String { clients.describe(client) }
}
