import Buffers
import SurfaceModel
import CWayland
import Glibc
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

extension Server {
    /// `wl_surface.commit` after validation: applied (or cached) now when its dma-buf is ready and
    /// nothing is held before it; otherwise held, in order, until it is. With explicit sync
    /// (`acquire`, linux-drm-syncobj-v1) ready means the acquire point signalled, and the
    /// buffer's implicit fences are not waited for (the read never waits on them either).
    package func commitWhenReady(_ surface: Surface, acquire: SyncobjPoint? = nil) {
        // Nothing held anywhere (the usual case): no walk of the sub-surface tree.
        let dependencies = holdingSurfaces.isEmpty ? [] : heldSyncDescendantCommits(of: surface)
        // Asked of the buffer, not found by a dynamic cast: this runs on every commit.
        let fenced: ClientBuffer? = if acquire == nil, case let .attached(b?) = surface.pending.attachment, b.contents.fenceFd != nil { b.contents } else { nil }
        if surface.heldCommits.isEmpty && dependencies.isEmpty && (fenced.map { DmabufReadiness.isReady($0.fenceFd!, for: .read) } ?? true)
            && (acquire?.isSignalled ?? true) {
            return commit(surface)
        }
        if let resource = surface.resource, let client = wl_resource_get_client(resource),
           heldCommitCount(of: client) >= Self.maxHeldCommitsPerClient {
            return tooManyHeldCommits(surface, client)
        }
        var state = SurfaceState<Buffer>()
        swap(&state, &surface.pending)
        // Committed again while a release waits for the frame: it is in use, not released.
        if case let .attached(b?) = state.attachment { b.releasePending = false }
        let held = HeldCommit(state: state, dependencies: dependencies, parentStateOf: surface)
        if let resource = surface.resource { clients.record(wl_resource_get_client(resource)) { $0.heldCommits += 1 } }
        if surface.heldCommits.isEmpty { holdingSurfaces.append(surface) }
        surface.heldCommits.append(held)
        if let dmabuf = fenced, let fenceFd = dmabuf.fenceFd {
            logger.debug("commit held until its dma-buf's fences signal", metadata: [
                "surface": "wl_surface@\(surface.id)", "queued": "\(surface.heldCommits.count)",
            ])
            held.wait = DmabufWait.start(loop: loop, fds: [fenceFd], access: .read, deadlineMs: configuration.fenceDeadlineMs,
                                         exportSyncFile: configuration.fenceWait == .auto) { [unowned self] ready in
                held.wait = nil
                held.failed = !ready
                if ready {
                    self.applyHeldCommits(surface)
                } else {
                    self.dmabufDeadlineMissed(surface, held, dmabuf, waitingFor: "fences not signalled")
                }
            }
        } else if let acquire, case let .attached(b?) = held.state.attachment {
            logger.debug("commit held until its acquire point signals", metadata: [
                "surface": "wl_surface@\(surface.id)", "point": "\(acquire.value)", "queued": "\(surface.heldCommits.count)",
            ])
            held.wait = DmabufWait.start(loop: loop, point: acquire, deadlineMs: configuration.fenceDeadlineMs) { [unowned self] ready in
                held.wait = nil
                held.failed = !ready
                if ready {
                    self.applyHeldCommits(surface)
                } else {
                    self.dmabufDeadlineMissed(surface, held, b.contents, waitingFor: "acquire point \(acquire.value) not signalled")
                }
            }
        }
        if held.isReady { applyHeldCommits(surface) }  // ready after all (fences signalled meanwhile)
    }

    /// Applies the surface's held commits that are ready, in order, stopping at the first that is
    /// not; then its ancestors', which may have waited for these.
    package func applyHeldCommits(_ surface: Surface) {
        var applied = false
        while let first = surface.heldCommits.first, first.isReady {
            surface.heldCommits.removeFirst()
            first.isDone = true
            applied = true
            // The held state goes through the ordinary commit (cache or apply); requests made
            // since are pending and stay so.
            var later = SurfaceState<Buffer>()
            swap(&later, &surface.pending)
            surface.pending = first.state
            first.state = SurfaceState()
            // The parent state as it was at this commit: the stack then (less sub-surfaces
            // destroyed since: they left the pending stack too), and the positions then.
            let laterStack = surface.pendingStack
            surface.pendingStack = first.stack.filter { item in
                guard case let .child(sub) = item else { return true }
                return laterStack.contains { $0.is(sub) }
            }
            // Sub-surfaces created since keep their place in the later stack only.
            var laterPositions: [(Subsurface, (x: Int32, y: Int32)?)] = []
            for item in surface.pendingStack {
                guard case let .child(sub) = item else { continue }
                laterPositions.append((sub, sub.parentPendingPosition))
                sub.parentPendingPosition = first.positions.first { $0.subsurface === sub }?.position
            }
            first.stack = []
            first.positions = []
            commit(surface)
            for (sub, position) in laterPositions { sub.parentPendingPosition = position }
            surface.pendingStack = laterStack
        }
        if surface.heldCommits.isEmpty { holdingSurfaces.removeAll { $0 === surface } }
        if applied { applyDependentCommits() }
    }

    /// Commits that waited for others (a parent's for its synchronized sub-surfaces') may be
    /// ready now. Few surfaces ever hold commits, so all of them are looked at.
    package func applyDependentCommits() {
        for s in holdingSurfaces where s.heldCommits.first?.isReady == true { applyHeldCommits(s) }
    }

    /// The wl_surface is being destroyed: its held commits are dropped.
    package func dropHeldCommits(_ surface: Surface) {
        guard !surface.heldCommits.isEmpty else { return }
        surface.dropHeldCommits()
        holdingSurfaces.removeAll { $0 === surface }
        applyDependentCommits()
    }

    /// Commits a client may have held at once (all its surfaces): each fenced one costs a
    /// descriptor (the sync_file the event loop watches) until it applies or the deadline passes.
    package static let maxHeldCommitsPerClient = 32

    private func heldCommitCount(of client: OpaquePointer) -> Int {
        var n = 0
        for s in holdingSurfaces where s.resource.map({ wl_resource_get_client($0) == client }) == true { n += s.heldCommits.count }
        return n
    }

    /// A client that keeps committing while its earlier commits wait for fences is disconnected
    /// before its queue costs compositord more than `maxHeldCommitsPerClient` descriptors.
    private func tooManyHeldCommits(_ surface: Surface, _ client: OpaquePointer) {
        let message = "more than \(Self.maxHeldCommitsPerClient) commits waiting for dma-buf fences: wait for frame callbacks (or for the fences) before committing again"
        logger.warning("too many commits held for dma-buf fences", metadata: [
            "client": "\(clients.describe(client))", "surface": "wl_surface@\(surface.id)", "limit": "\(Self.maxHeldCommitsPerClient)",
        ])
        if case let .attached(b?) = surface.pending.attachment, let resource = b.resource {
            postError(resource, code: 0, message)
        } else {
            postDisplayError(client, message)
        }
    }

    /// The last held commit of every synchronized descendant (recursively): what a commit of
    /// `surface` made now must not overtake.
    private func heldSyncDescendantCommits(of surface: Surface) -> [HeldCommit] {
        var out: [HeldCommit] = []
        func visit(_ s: Surface) {
            for item in s.pendingStack {
                guard case let .child(sub) = item, sub.isSynchronized, let child = sub.surface else { continue }
                if let last = child.heldCommits.last { out.append(last) }
                visit(child)
            }
        }
        visit(surface)
        return out
    }

    /// The dma-buf was still not ready at the deadline: its client is disconnected with an error.
    private func dmabufDeadlineMissed(_ surface: Surface, _ held: HeldCommit, _ dmabuf: ClientBuffer, waitingFor reason: String) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let waited = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000 - held.heldAtMs
        // Within libwayland's 127 bytes (SealPolicy.messageLimit): the deadline and what missed it.
        let message = "dma-buf not ready within \(configuration.fenceDeadlineMs) ms of the commit (\(reason)): compositord does not wait longer"
        let bufferResource: OpaquePointer? = if case let .attached(b?) = held.state.attachment { b.resource } else { nil }
        guard let resource = bufferResource ?? surface.resource, let client = wl_resource_get_client(resource) else { return }
        clients.record(client) { $0.fenceDeadlinesMissed += 1 }
        logger.warning("dma-buf fence deadline missed", metadata: [
            "reason": "\(reason)",
            "client": "\(clients.describe(client))", "surface": "wl_surface@\(surface.id)", "waited-ms": "\(waited)",
            "deadline-ms": "\(configuration.fenceDeadlineMs)", "size": "\(dmabuf.width)x\(dmabuf.height)",
        ])
        if bufferResource != nil {
            // wl_buffer has no error codes of its own: 0, with the reason in the message.
            postError(resource, code: 0, message)
        } else {
            postDisplayError(client, message)
        }
    }

    /// The wl_buffer is gone (or the commit had none): `wl_display.error` `no_memory`, as for the
    /// other resource limits (FdBudget), with the reason in the message.
    private func postDisplayError(_ client: OpaquePointer, _ message: String) {
        if let display = wl_client_get_object(client, 1) {
            post(WlDisplayError.noMemory, on: display, message)
        } else {
            wl_client_post_no_memory(client)
        }
    }
}

extension Surface {
    /// The surface is going away: held commits are dropped (buffers never shown released,
    /// frame callbacks dropped, feedback discarded) and their waits stopped.
    package func dropHeldCommits() {
        let held = heldCommits
        heldCommits = []
        var released: [Buffer] = []
        for h in held {
            h.wait?.cancel()
            h.wait = nil
            h.isDone = true
            if case let .attached(b?) = h.state.attachment, b !== current.buffer, !released.contains(where: { $0 === b }) {
                released.append(b)
                b.release()
            }
            for cb in h.state.frameCallbacks { cb.cancel() }
            for feedback in h.state.presentationFeedbacks { feedback.discard() }
            h.state = SurfaceState()
        }
    }
}
