/// Deliberate protocol violations, for checking that a compositor reacts as the protocol says.
/// To add one: a case, its two descriptions, its expected error, and a branch in `perform`.
public enum Misbehavior: String, Sendable, CaseIterable {
    case attachBeforeConfigure = "attach-before-configure"
    /// Legal but nasty: exercises destroy orderings a compositor must survive.
    case destroyOrderings = "destroy-orderings"

    /// One sentence: what the client does.
    public var summary: String {
        switch self {
        case .attachBeforeConfigure:
            return "Creates a toplevel and attaches and commits a buffer before acking the first configure."
        case .destroyOrderings:
            return "Destroys a wl_buffer while it is on screen, destroys a surface with committed and uncommitted frame callbacks, then leaves mid-frame."
        }
    }

    /// One sentence: how a correct compositor reacts.
    public var expectedReaction: String {
        switch self {
        case .attachBeforeConfigure:
            return "The compositor raises xdg_surface error 3 (unconfigured_buffer) and disconnects the client."
        case .destroyOrderings:
            return "All of it is legal: no protocol error, frames keep coming, and the compositor survives the client leaving."
        }
    }

    /// The protocol error a correct compositor raises: interface name and code (nil: none, the
    /// sequence is legal and must be tolerated).
    public var expectedError: (interface: String, code: UInt32)? {
        switch self {
        case .attachBeforeConfigure: return ("xdg_surface", 3)
        case .destroyOrderings: return nil
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

        case .destroyOrderings:
            // 1. A mapped window whose wl_buffer is destroyed while attached: the compositor must
            //    keep reading its pixels safely and still complete frames.
            var toplevel: Toplevel? = Toplevel(context: context, title: "demo-client (destroy orderings)", appID: "demo-client")
            try toplevel!.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the first configure")
            let shown = buffers.buffers[0]
            DemoPattern.draw(into: shown, frame: 0)
            let first = toplevel!.present(shown)!
            try context.connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
            shown.destroy()
            let afterDestroy = toplevel!.surface.requestFrame()
            toplevel!.surface.commit()
            try context.connection.wait(timeout: timeout) { afterDestroy.isDone }
                .orThrow(waitingFor: "a frame after destroying the attached buffer")

            // 2. The surface destroyed with frame callbacks pending, one committed, one not.
            let committed = toplevel!.surface.requestFrame()
            toplevel!.surface.commit()
            let uncommitted = toplevel!.surface.requestFrame()
            toplevel = nil  // xdg_toplevel, xdg_surface, then wl_surface
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the compositor after the surface went")
            withExtendedLifetime((committed, uncommitted)) {}

            // 3. Gone mid-frame: a new window commits a buffer and the client leaves at once.
            let last = Toplevel(context: context, title: "demo-client (leaving)", appID: "demo-client")
            try last.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the second window's configure")
            let leaving = buffers.buffers[1]
            DemoPattern.draw(into: leaving, frame: 1)
            last.present(leaving)
            try context.connection.flush()
            withExtendedLifetime(last) {}
        }
    }
}
