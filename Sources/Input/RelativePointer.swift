import CWayland
import Glibc
import Protocols
import WaylandCore

/// `zwp_relative_pointer_manager_v1`: pointer motion as deltas, not positions (games, 3D views,
/// anything that turns the pointer into a camera). Relative motion goes to the client whose
/// surface has pointer focus, as the device moved it: compositord applies no acceleration, so
/// the accelerated and unaccelerated deltas are the same. Absolute motion (a tablet, a VNC
/// client's absolute pointer) sends none.
package final class RelativePointerManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: SeatState

    init(state: SeatState) { self.state = state }

    package static func bind(_ state: SeatState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwp_relative_pointer_manager_v1_interface(), version: version, id: id) { _ in
            RelativePointerManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwpRelativePointerManagerV1Request(request) {
        case let .getRelativePointer(id, _)?:
            let pointer = state.seat.pointer
            guard let r = Resources.create(client: request.client, interface: cw_zwp_relative_pointer_v1_interface(), version: request.version,
                                           id: id, handler: { r in RelativePointer(resource: r, pointer: pointer) }),
                  let relative = Resources.handler(of: r) as? RelativePointer else { return }
            pointer.relativePointers.append(relative)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zwp_relative_pointer_v1`: one client's relative motion events.
package final class RelativePointer: ResourceHandler {
    private(set) var resource: OpaquePointer?
    let client: OpaquePointer
    private unowned let pointer: SeatPointer

    init(resource: OpaquePointer, pointer: SeatPointer) {
        self.resource = resource
        client = wl_resource_get_client(resource)
        self.pointer = pointer
    }

    /// `relative_motion` with a microsecond CLOCK_MONOTONIC timestamp.
    func send(dx: Double, dy: Double) {
        guard let resource else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let us = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        let (fx, fy) = (wl_fixed_from_double(dx), wl_fixed_from_double(dy))
        zwp_relative_pointer_v1_send_relative_motion(resource, UInt32(us >> 32), UInt32(us & 0xFFFF_FFFF), fx, fy, fx, fy)
    }

    package func handle(_ request: Request) {
        if case .destroy? = ZwpRelativePointerV1Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        resource = nil
        pointer.relativePointers.removeAll { $0 === self }
    }
}
