import Buffers
import CWayland
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore

/// A `wl_callback` from `wl_surface.frame`: `done` fires once, then the resource is destroyed.
package final class FrameCallback: ResourceHandler, FrameCallbackObject {
    private var resource: OpaquePointer?

    package init(resource: OpaquePointer) { self.resource = resource }

    /// Sends `done` with the frame's time in milliseconds and destroys the callback.
    package func done(timeMs: UInt32) {
        guard let resource else { return }
        wl_callback_send_done(resource, timeMs)
        wl_resource_destroy(resource)
    }

    /// Destroys the callback without `done` (its surface went away before committing it).
    package func cancel() {
        if let resource { wl_resource_destroy(resource) }
    }

    package func handle(_ request: Request) {}  // wl_callback has no requests
    package func resourceDestroyed() { resource = nil }
}
