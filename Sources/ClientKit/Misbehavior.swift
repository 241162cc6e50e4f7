/// Deliberate protocol violations, for checking that a compositor reacts as the protocol says.
/// To add one: a case, its two descriptions, its expected error, and a branch in `perform`.
public enum Misbehavior: String, Sendable, CaseIterable {
    case attachBeforeConfigure = "attach-before-configure"

    /// One sentence: what the client does.
    public var summary: String {
        switch self {
        case .attachBeforeConfigure:
            return "Creates a toplevel and attaches and commits a buffer before acking the first configure."
        }
    }

    /// One sentence: how a correct compositor reacts.
    public var expectedReaction: String {
        switch self {
        case .attachBeforeConfigure:
            return "The compositor raises xdg_surface error 3 (unconfigured_buffer) and disconnects the client."
        }
    }

    /// The protocol error a correct compositor raises: interface name and code.
    public var expectedError: (interface: String, code: UInt32) {
        switch self {
        case .attachBeforeConfigure: return ("xdg_surface", 3)
        }
    }

    /// Commits the violation using `buffers`, then roundtrips. Returns normally only if the
    /// compositor tolerated it; otherwise throws its `ProtocolError` (or a connection error).
    public func perform(context: ClientContext, buffers: BufferSet, timeout: Duration? = nil) throws {
        switch self {
        case .attachBeforeConfigure:
            let toplevel = Toplevel(context: context, title: "demo-client (misbehaving)", appID: "demo-client")
            guard let buffer = buffers.freeBuffer() else { preconditionFailure("no free buffer") }
            DemoPattern.draw(into: buffer, frame: 0)
            // Nothing was dispatched since the initial commit, so no configure can have been acked.
            toplevel.surface.attach(buffer)
            toplevel.surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
            toplevel.surface.commit()
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the compositor's reaction")
            withExtendedLifetime(toplevel) {}
        }
    }
}
