import WaylandTestSupport

/// How one fuzz session ended.
enum SessionOutcome {
    /// wl_display.error arrived (the compositor then hangs up).
    case protocolError(ReceivedProtocolError)
    /// The compositor hung up without an error event.
    case disconnected(String)
    /// Still connected at the end, and it answered wl_display.sync.
    case alive
    /// The fuzzer closed the connection without waiting for an answer (a client that vanishes).
    case abandoned
    /// Raw bytes only: no answer, no error, no hang-up, while the observer kept getting frames:
    /// the compositor is waiting for the rest of a message whose header announced more bytes.
    case stalled
    /// No answer to wl_display.sync within the timeout on a stream that was framed correctly.
    case hang(String)

    var label: String {
        switch self {
        case .protocolError: return "protocol-error"
        case .disconnected: return "disconnected"
        case .alive: return "alive"
        case .abandoned: return "abandoned"
        case .stalled: return "stalled"
        case .hang: return "hang"
        }
    }
}

/// One fuzz client on its own connection, advanced a little at a time by the runner's loop.
protocol FuzzSession: AnyObject {
    var index: Int { get }
    var seed: UInt64 { get }
    var kind: String { get }
    var connection: WireConnection { get }
    var outcome: SessionOutcome? { get }
    /// Requests (typed) or chunks (raw) sent.
    var requestCount: Int { get }
    /// Queues the next requests, or notices replies, errors, hang-ups and timeouts.
    func step(now: Double)
    /// Whether `step` has work to do without waiting for the compositor.
    var isBusy: Bool { get }
    /// Ends the session (closing its connection and fds) if it has not ended yet.
    func close()
}
