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

/// What wl_shm asks of the compositor (ShmDelegate): the policy, and what each judgement costs.
extension Server: ShmDelegate {
    package var sealPolicy: SealPolicy { configuration.sealPolicy }

    /// A pool passed the policy: count it by file class.
    package func poolAccepted(_ client: OpaquePointer, _ pool: ShmPool) {
        clients.record(client) { $0.poolsAccepted[pool.file.kind.rawValue, default: 0] += 1 }
        logger.debug("pool accepted", metadata: [
            "client": "\(clients.describe(client))", "class": "\(pool.file.kind.rawValue)", "seals": "\(pool.file.sealDescription)",
            "size": "\(pool.size)", "guarded": "\(pool.guarded)",
        ])
        if pool.file.kind == .sealedByCompositor, clients.firstSealedOnBehalf(client) {
            let exe = clients.info(client)?.executable.map { ($0 as String).split(separator: "/").last.map(String.init) ?? $0 } ?? "-"
            logger.info("sealed a client's memfd pool on its behalf (F_SEAL_SHRINK): it allowed sealing but arrived unsealed; the client can no longer shrink it (logged once per client, counted in --stats as sealed-by-compositord)", metadata: [
                "client": "\(clients.describe(client))", "exe": "\(exe)", "seals": "\(pool.file.sealDescription)",
            ])
        }
        if let failure = pool.file.sealFailure {
            logger.debug("could not seal a memfd pool on its client's behalf: reading it under the SIGBUS guard", metadata: [
                "client": "\(clients.describe(client))", "error": "\(failure)",
            ])
        }
    }

    /// A pool (or a resize) broke a rule: one log line with the file's class and seals, a count,
    /// and the protocol error on the object the request came on.
    package func poolRefused(_ resource: OpaquePointer, _ failure: ShmPool.Failure) {
        let client = wl_resource_get_client(resource)!
        clients.record(client) { $0.refusals[failure.rule, default: 0] += 1 }
        logger.warning("pool refused", metadata: [
            "client": "\(clients.describe(client))", "class": "\(failure.file?.kind.rawValue ?? "-")",
            "seals": "\(failure.file?.sealDescription ?? "-")", "rule": "\(failure.rule)", "policy": "\(configuration.sealPolicy.rawValue)",
        ])
        postError(resource, code: failure.code.rawValue, failure.message)
    }

    /// How a shrunk pool file was noticed.
    package enum ShrinkFound {
        /// A guarded read took SIGBUS: the frame completed with zeros where the file was gone.
        case sigbus
        /// The latch check (on-demand compositing) saw the file end before the buffer's last byte.
        case latchCheck
    }

    /// The client shrank the pool file under a buffer it committed: it gets invalid_fd on the
    /// buffer and is disconnected.
    package func poolShrank(_ buffer: Buffer, foundBy how: ShrinkFound) {
        guard let resource = buffer.resource, let client = wl_resource_get_client(resource) else { return }
        let file = (buffer.contents as? ShmBuffer)?.pool.file
        clients.record(client) {
            switch how {
            case .sigbus: $0.sigbusFaults += 1
            case .latchCheck: $0.shrunkAtLatch += 1
            }
        }
        logger.warning(how == .sigbus ? "SIGBUS caught reading a pool" : "pool file shrank under a committed buffer", metadata: [
            "client": "\(clients.describe(client))", "class": "\(file?.kind.rawValue ?? "-")", "seals": "\(file?.sealDescription ?? "-")",
            "rule": "pool-shrunk-under-mapping",
        ])
        if file?.kind == .hugetlbFile && how == .sigbus {
            // A hugetlbfs file faults on a hole when no huge page is free, sealed or not.
            return post(WlShmError.invalidFd, on: resource,
                             "reading the hugetlbfs pool faulted (a hole, no free huge page): send a tmpfs memfd sealed with F_SEAL_SHRINK")
        }
        let when = how == .sigbus ? "the buffer while the compositor read it (SIGBUS)" : "the committed buffer (seen at the frame's latch)"
        post(WlShmError.invalidFd, on: resource,
                  "the pool's file shrank below \(when): seal it with F_SEAL_SHRINK, never truncate it")
    }
}
