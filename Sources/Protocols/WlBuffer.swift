import Buffers
import CWayland
import SceneGraph
import WaylandCore
import SurfaceModel
import Outputs

/// `wl_buffer`: the resource behind a scene `Buffer`, which it tells when to send `release`.
package final class WlBuffer: ResourceHandler, BufferReleaseSink {
    package let buffer: Buffer
    package private(set) var resource: OpaquePointer?

    package init(resource: OpaquePointer, contents: ClientBuffer) {
        self.resource = resource
        buffer = Buffer(contents: contents)
        buffer.sink = self
    }

    /// The scene buffer behind a wl_buffer argument.
    package static func buffer(_ resource: OpaquePointer?) -> Buffer? {
        Resources.object(resource, as: WlBuffer.self)?.buffer
    }

    package func sendRelease() {
        if let resource { wl_buffer_send_release(resource) }
    }

    package func handle(_ request: Request) {
        if case .destroy? = WlBufferRequest(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        resource = nil
        if buffer.sink === self { buffer.sink = nil }
    }
}
