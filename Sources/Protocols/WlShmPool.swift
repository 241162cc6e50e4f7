import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// `wl_shm_pool`: carves buffers out of a pool and lets the client grow it.
package final class WlShmPool: ResourceHandler {
    private let state: ShmState
    private let pool: ShmPool

    package init(state: ShmState, pool: ShmPool) {
        self.state = state
        self.pool = pool
    }

    package func handle(_ request: Request) {
        switch WlShmPoolRequest(request) {
        case let .createBuffer(id, offset, width, height, stride, format)?:
            createBuffer(request, id: id, offset: offset, width: width, height: height, stride: stride, code: format)
        case .destroy?:
            // Buffers keep the pool (and its mapping) alive; see ShmPool.
            wl_resource_destroy(request.resource)
        case let .resize(newSize)?:
            do throws(ClientUsage.Refusal) {
                try pool.charge?.checkGrowth(to: Int(newSize))  // --max-client-memory, before anything is remapped
            } catch {
                return state.context.limitRefused(request.client, error, what: "a resize")
            }
            do {
                try pool.resize(to: newSize, policy: state.delegate.sealPolicy)
            } catch {
                state.delegate.poolRefused(request.resource, error)
            }
        case nil: break
        }
    }

    private func createBuffer(_ request: Request, id: UInt32, offset: Int32, width: Int32, height: Int32, stride: Int32, code: UInt32) {
        guard let format = PixelFormat.shm(code) else {
            return state.context.post(WlShmError.invalidFormat, on: request.resource,
                                    "format 0x\(String(code, radix: 16)) was not advertised by wl_shm.format")
        }
        switch ShmBufferLayout.validate(offset: offset, width: width, height: height, stride: stride, format: format, poolSize: pool.size) {
        case let .failure(invalid):
            state.context.post(WlShmError.invalidStride, on: request.resource, invalid.description)
        case let .success(layout):
            // --max-client-buffers: every wl_buffer counts while its resource lives.
            guard let usage = state.context.usage(of: request.client) else { return }
            let charge: Charge
            do throws(ClientUsage.Refusal) { charge = try usage.charge(bytes: 0, objects: 1) } catch {
                return state.context.limitRefused(request.client, error, what: "a wl_buffer")
            }
            let contents = ShmBuffer(pool: pool, layout: layout)
            if let buffer = Resources.create(client: request.client, interface: cw_wl_buffer_interface(), version: 1, id: id, handler: { r in
                WlBuffer(resource: r, contents: contents)
            }) {
                usage.hold(charge, until: buffer)
            }
        }
    }
}
