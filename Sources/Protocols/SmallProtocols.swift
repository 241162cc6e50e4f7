import Buffers
import CPixman
import CWayland
import SceneGraph
import WaylandCore

// Protocols that ask little of a headless compositor: each is a few objects and the spec's
// errors, and says in its comment what compositord does with it.

/// `wp_single_pixel_buffer_manager_v1`: a 1×1 wl_buffer of one colour (scaled with wp_viewport,
/// the cheapest solid rectangle a client can show).
package final class SinglePixelBufferManager: ResourceHandler {
    package static let version: UInt32 = 1

    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wp_single_pixel_buffer_manager_v1_interface(), version: version, id: id) { _ in
            SinglePixelBufferManager()
        }
    }

    package func handle(_ request: Request) {
        switch WpSinglePixelBufferManagerV1Request(request) {
        case let .createU32RgbaBuffer(id, r, g, b, a)?:
            let contents = SolidColorBuffer(red: r, green: g, blue: b, alpha: a)
            Resources.create(client: request.client, interface: cw_wl_buffer_interface(), version: 1, id: id) { resource in
                WlBuffer(resource: resource, contents: contents)
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zwp_idle_inhibit_manager_v1`: inhibitors are accepted and kept; headless there is no screen
/// to blank and compositord never idles, so they change nothing.
package final class IdleInhibitManager: ResourceHandler {
    package static let version: UInt32 = 1

    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwp_idle_inhibit_manager_v1_interface(), version: version, id: id) { _ in
            IdleInhibitManager()
        }
    }

    package func handle(_ request: Request) {
        switch ZwpIdleInhibitManagerV1Request(request) {
        case let .createInhibitor(id, _)?:
            Resources.create(client: request.client, interface: cw_zwp_idle_inhibitor_v1_interface(), version: request.version, id: id) { _ in
                IdleInhibitor()
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

package final class IdleInhibitor: ResourceHandler {
    package func handle(_ request: Request) {
        if case .destroy? = ZwpIdleInhibitorV1Request(request) { wl_resource_destroy(request.resource) }
    }
}

/// `ext_transient_seat_manager_v1`: compositord has one seat (`seat0`) and makes no others, so
/// every request is answered `denied` (the spec's answer when the compositor will not).
package final class TransientSeatManager: ResourceHandler {
    package static let version: UInt32 = 1

    package static func bind(_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_ext_transient_seat_manager_v1_interface(), version: version, id: id) { _ in
            TransientSeatManager()
        }
    }

    package func handle(_ request: Request) {
        switch ExtTransientSeatManagerV1Request(request) {
        case let .create(id)?:
            guard let seat = Resources.create(client: request.client, interface: cw_ext_transient_seat_v1_interface(), version: request.version,
                                              id: id, handler: { _ in TransientSeat() }) else { return }
            ext_transient_seat_v1_send_denied(seat)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

package final class TransientSeat: ResourceHandler {
    package func handle(_ request: Request) {
        if case .destroy? = ExtTransientSeatV1Request(request) { wl_resource_destroy(request.resource) }
    }
}
