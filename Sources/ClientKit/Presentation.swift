import CWayland

/// `wp_presentation` (presentation-time v1): the clock the compositor's timestamps use, and
/// feedback on when each commit was shown.
public final class Presentation: EventReceiver {
    let proxy: OpaquePointer
    /// The `clock_id` event: a clockid_t, e.g. 1 for CLOCK_MONOTONIC.
    public private(set) var clockID: UInt32?

    /// Binds the global and waits for `clock_id`. Throws `ClientError.missingGlobal` without one.
    public init(context: ClientContext, timeout: Duration? = nil) throws {
        proxy = try context.registry.bind("wp_presentation", table: cw_wp_presentation_interface(), maxVersion: 1).proxy
        routeEvents(of: proxy, to: self)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "wp_presentation.clock_id")
    }

    deinit {
        wp_presentation_destroy(proxy)
    }

    /// Asks for feedback on the content of `surface`'s next commit.
    public func feedback(for surface: Surface) -> PresentationFeedback {
        PresentationFeedback(proxy: wp_presentation_feedback(proxy, surface.proxy))
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if opcode == 0 { clockID = arguments.uint(0) }  // clock_id
    }
}

/// One `wp_presentation_feedback`: `presented` or `discarded`, whichever comes.
public final class PresentationFeedback: EventReceiver {
    /// The `presented` event's arguments, put together.
    public struct Presented: Sendable, Equatable {
        /// The presentation time in ns of the compositor's clock.
        public var timeNs: UInt64
        /// ns until the next refresh (0: no prediction).
        public var refreshNs: UInt32
        /// The output's vertical retrace counter (MSC).
        public var sequence: UInt64
        /// wp_presentation_feedback.kind bits.
        public var flags: UInt32
        /// How many `sync_output` events came first (one per bound wl_output of that output).
        public var syncOutputs: Int
    }

    public enum Outcome: Sendable, Equatable {
        case presented(Presented)
        case discarded
    }

    private var proxy: OpaquePointer?
    private var syncOutputs = 0
    public private(set) var outcome: Outcome?
    /// The wl_output proxies `sync_output` named, in order (`Output.isProxy` tells which).
    public private(set) var syncOutputProxies: [OpaquePointer] = []

    init(proxy: OpaquePointer) {
        self.proxy = proxy
        routeEvents(of: proxy, to: self)
    }

    deinit {
        if let proxy { wp_presentation_feedback_destroy(proxy) }
    }

    /// The `presented` arguments, if that is what happened.
    public var presented: Presented? {
        if case let .presented(p) = outcome { return p }
        return nil
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0:  // sync_output(output)
            syncOutputs += 1
            if let o = arguments.object(0) { syncOutputProxies.append(o) }
        case 1:  // presented(tv_sec_hi, tv_sec_lo, tv_nsec, refresh, seq_hi, seq_lo, flags)
            let seconds = UInt64(arguments.uint(0)) << 32 | UInt64(arguments.uint(1))
            outcome = .presented(Presented(
                timeNs: seconds * 1_000_000_000 + UInt64(arguments.uint(2)), refreshNs: arguments.uint(3),
                sequence: UInt64(arguments.uint(4)) << 32 | UInt64(arguments.uint(5)), flags: arguments.uint(6),
                syncOutputs: syncOutputs))
            finished()
        case 2:  // discarded
            outcome = .discarded
            finished()
        default: break
        }
    }

    /// Both events are destructors: the compositor has destroyed the object, so drop the proxy.
    private func finished() {
        if let proxy { wp_presentation_feedback_destroy(proxy) }
        proxy = nil
    }
}
