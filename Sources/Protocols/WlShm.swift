import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// What wl_shm asks of the compositor: the seal policy to judge pool files by, and what to do
/// with each judgement (count it, log it, answer the client).
package protocol ShmDelegate: AnyObject {
    var sealPolicy: SealPolicy { get }
    func poolAccepted(_ client: OpaquePointer, _ pool: ShmPool)
    func poolRefused(_ resource: OpaquePointer, _ failure: ShmPool.Failure)
}

/// The wl_shm family's state: what its handlers share (Smithay's `ShmState`).
package final class ShmState {
    package unowned let context: ProtocolContext
    package unowned let delegate: ShmDelegate

    package init(context: ProtocolContext, delegate: ShmDelegate) {
        self.context = context
        self.delegate = delegate
    }
}

/// `wl_shm`: compositord's own implementation (not `wl_display_init_shm`), so every pool fd is
/// classified and judged by the seal policy (ShmPool) before a pixel is read.
package final class WlShm: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: ShmState

    package init(state: ShmState) { self.state = state }

    package static func bind(_ state: ShmState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let resource = Resources.create(client: client, interface: cw_wl_shm_interface(), version: version, id: id, handler: { _ in
            WlShm(state: state)
        }) else { return }
        for format in PixelFormat.all { wl_shm_send_format(resource, format.shmCode) }
    }

    package func handle(_ request: Request) {
        guard case let .createPool(id, fd, size)? = WlShmRequest(request) else { return }
        let (context, delegate) = (state.context, state.delegate)
        guard context.admitsReceived(request, fd: fd) else { return }  // near the fd limit (FdBudget)
        // --max-client-memory and --max-client-buffers, before the fd is looked at or mapped.
        guard let usage = context.usage(of: request.client) else { return ReceivedFd.close(fd) }
        let charge: Charge
        do throws(ClientUsage.Refusal) { charge = try usage.charge(bytes: max(Int(size), 0), objects: 1) } catch {
            ReceivedFd.close(fd)
            return context.limitRefused(request.client, error, what: "a new pool")
        }
        let pool: ShmPool
        do {
            pool = try ShmPool(fd: fd, size: size, policy: delegate.sealPolicy)  // owns (and on failure closes) fd
        } catch {
            return delegate.poolRefused(request.resource, error)
        }
        pool.charge = charge
        delegate.poolAccepted(request.client, pool)
        Resources.create(client: request.client, interface: cw_wl_shm_pool_interface(), version: request.version, id: id) { _ in
            WlShmPool(state: state, pool: pool)
        }
    }
}
