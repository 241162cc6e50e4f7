import Buffers
import CWayland
import Logging

/// What every protocol handler needs from the compositor, and nothing more (issue 17, item 2):
/// posting the spec's errors (logged, counted, the client disconnected), the fd budget, the
/// per-client limits, serials and the log. Handlers hold this (and their family's delegate), not
/// the `Server`: a family that is converted names neither the server nor another family.
package protocol ProtocolContext: AnyObject {
    var logger: Logger { get }
    /// Posts `code` on `resource` with a message that says how to fix it (within 127 bytes).
    func postError(_ resource: OpaquePointer, code: UInt32, _ message: String)
    /// False (after closing `fd` and disconnecting the client with `no_memory`) when taking the
    /// fd would leave compositord too few descriptors of its own (FdBudget).
    func admitsReceived(_ request: Request, fd: Int32) -> Bool
    /// The client's ledger for `--max-client-memory` and `--max-client-buffers`.
    func usage(of client: OpaquePointer) -> ClientUsage?
    /// A request would take its client past a limit: logged, counted, `no_memory` with the reason.
    func limitRefused(_ client: OpaquePointer, _ refusal: ClientUsage.Refusal, what: String)
    /// Counts and logs a limit refusal that the caller answers itself (with the protocol's own error).
    func recordLimitRefusal(_ client: OpaquePointer, _ refusal: ClientUsage.Refusal, message: String)
    /// "pid 123 (exe)" for log lines.
    func describe(_ client: OpaquePointer) -> String
    func nextSerial() -> UInt32
}

extension ProtocolContext {
    /// Posts the spec's `error` on `resource`. An error of another interface than the resource's
    /// is a compositord bug: it is logged (and still posted, so the client is not left waiting).
    package func post<E: ProtocolErrorCode>(_ error: E, on resource: OpaquePointer, _ message: String) {
        let interface = String(cString: wl_resource_get_class(resource))
        if interface != E.interfaceName && !Self.borrows(interface, E.interfaceName) {
            logger.error("protocol error posted on the wrong interface", metadata: [
                "error": "\(E.interfaceName).\(error)", "object": "\(interface)@\(wl_resource_get_id(resource))",
            ])
        }
        postError(resource, code: error.rawValue, message)
    }

    /// Objects that carry another interface's errors by convention: wl_shm_pool and wl_buffer
    /// have no error enum, and libwayland posts wl_shm's on them (a bad stride on the pool, a
    /// SIGBUS on the buffer).
    private static func borrows(_ interface: String, _ errorInterface: String) -> Bool {
        errorInterface == "wl_shm" && (interface == "wl_shm_pool" || interface == "wl_buffer")
    }
}
