import CWayland

/// `wl_shm`: compositord's own implementation (not `wl_display_init_shm`), so every pool fd is
/// classified and judged by the seal policy (ShmPool) before a pixel is read.
final class WlShm: ResourceHandler {
    static let version: UInt32 = 1
    private unowned let server: Server

    init(server: Server) { self.server = server }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let resource = Resources.create(client: client, interface: cw_wl_shm_interface(), version: version, id: id, handler: { _ in
            WlShm(server: server)
        }) else { return }
        for format in PixelFormat.all { wl_shm_send_format(resource, format.shmCode) }
    }

    func handle(_ request: Request) {
        guard Int32(request.opcode) == WL_SHM_CREATE_POOL else { return }
        let (id, fd, size) = (request.newID(0), request.fd(1), request.int(2))
        guard server.admitsReceived(request, fd: fd) else { return }  // near the fd limit (FdBudget)
        // --max-client-memory and --max-client-buffers, before the fd is looked at or mapped.
        guard let usage = server.usage(of: request.client) else { return ReceivedFd.close(fd) }
        let charge: Charge
        do throws(ClientUsage.Refusal) { charge = try usage.charge(bytes: max(Int(size), 0), objects: 1) } catch {
            ReceivedFd.close(fd)
            return server.limitRefused(request.client, error, what: "a new pool")
        }
        let pool: ShmPool
        do {
            pool = try ShmPool(fd: fd, size: size, policy: server.configuration.sealPolicy)  // owns (and on failure closes) fd
        } catch {
            return server.poolRefused(request.resource, error)
        }
        pool.charge = charge
        server.poolAccepted(request.client, pool)
        Resources.create(client: request.client, interface: cw_wl_shm_pool_interface(), version: request.version, id: id) { _ in
            WlShmPool(server: server, pool: pool)
        }
    }
}
