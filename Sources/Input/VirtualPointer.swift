import Buffers
import CWayland
import Protocols
import WaylandCore

/// zwlr_virtual_pointer_manager_v1's family state: the context and the seat whose pointer moves.
package final class VirtualPointerState {
    package unowned let context: ProtocolContext
    package unowned let seat: Seat

    package init(context: ProtocolContext, seat: Seat) {
        self.context = context
        self.seat = seat
    }
}

/// `zwlr_virtual_pointer_manager_v1` v2: virtual pointers on the one seat (wayvnc, ydotool-like
/// tools). Trust is decided by who sees the global (`--virtual-input`).
package final class VirtualPointerManager: ResourceHandler {
    package static let version: UInt32 = 2
    private let state: VirtualPointerState

    private init(state: VirtualPointerState) { self.state = state }

    package static func bind(_ state: VirtualPointerState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zwlr_virtual_pointer_manager_v1_interface(), version: version, id: id) { _ in
            VirtualPointerManager(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch ZwlrVirtualPointerManagerV1Request(request) {
        // The seat and output may be null (the default: there is one of each).
        case let .createVirtualPointer(_, id)?, let .createVirtualPointerWithOutput(_, _, id)?:
            Resources.create(client: request.client, interface: cw_zwlr_virtual_pointer_v1_interface(), version: request.version, id: id) { _ in
                VirtualPointer(state: state)
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `zwlr_virtual_pointer_v1`: a pointer device while it exists (the seat has the pointer
/// capability while any pointer does). Events are grouped until `frame`, as the protocol says
/// (wlcs checks that nothing reaches clients before it): then motion moves the seat's cursor
/// (absolute motion maps the extent onto the output), buttons press as a real pointer would (a
/// press focuses its window), axis events scroll the surface under the cursor with the frame's
/// `axis_source`.
package final class VirtualPointer: ResourceHandler {
    /// A client that never sends `frame` cannot grow the group past this: it is delivered then.
    package static let maxPendingEvents = 256
    private let state: VirtualPointerState
    private let device: Int

    private enum Event {
        case motion(dx: Double, dy: Double)
        case absolute(x: Double, y: Double)
        case button(UInt32, pressed: Bool)
        case axis(time: UInt32, axis: UInt32, value: Double, discrete: Int32?)
    }

    private var pending: [Event] = []
    private var frameSource: UInt32?

    init(state: VirtualPointerState) {
        self.state = state
        device = state.seat.addDevice(.pointer)
    }

    package func handle(_ request: Request) {
        switch ZwlrVirtualPointerV1Request(request) {
        case let .motion(_, dx, dy)?:
            guard dx.isFinite, dy.isFinite else { return }
            queue(.motion(dx: dx, dy: dy))
        case let .motionAbsolute(_, x, y, xExtent, yExtent)?:
            // An extent of 0 places nothing (wlroots ignores it too); positions past it clamp.
            guard xExtent > 0, yExtent > 0 else { return }
            queue(.absolute(x: Double(min(x, xExtent)) / Double(xExtent), y: Double(min(y, yExtent)) / Double(yExtent)))
        case let .button(_, button, buttonState)?:
            guard buttonState <= 1 else { return }
            queue(.button(button, pressed: buttonState == 1))
        case let .axis(time, axis, value)?:
            guard valid(axis, request) else { return }
            queue(.axis(time: time, axis: axis, value: value.isFinite ? value : 0, discrete: nil))
        case let .axisDiscrete(time, axis, value, discrete)?:
            guard valid(axis, request) else { return }
            queue(.axis(time: time, axis: axis, value: value.isFinite ? value : 0, discrete: discrete))
        case let .axisStop(time, axis)?:
            guard valid(axis, request) else { return }
            queue(.axis(time: time, axis: axis, value: 0, discrete: nil))
        case let .axisSource(source)?:
            // wl_pointer.axis_source: wheel, finger, continuous, wheel_tilt.
            guard source <= WL_POINTER_AXIS_SOURCE_WHEEL_TILT.rawValue else {
                return state.context.post(ZwlrVirtualPointerV1Error.invalidAxisSource, on: request.resource,
                                          "axis_source \(source): wheel 0, finger 1, continuous 2 or wheel_tilt 3")
            }
            frameSource = source
        case .frame?:
            deliver()
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    private func queue(_ event: Event) {
        pending.append(event)
        if pending.count >= Self.maxPendingEvents { deliver() }
    }

    /// The group, in order; each event reaches clients followed by its own wl_pointer.frame.
    private func deliver() {
        let pointer = state.seat.pointer
        let source = frameSource
        frameSource = nil
        let events = pending
        pending.removeAll(keepingCapacity: true)
        for event in events {
            switch event {
            case let .motion(dx, dy): pointer.moved(byX: dx, y: dy)
            case let .absolute(x, y): pointer.moved(toX: x * pointer.outputSize.width, y: y * pointer.outputSize.height)
            case let .button(button, pressed): pointer.button(button, pressed: pressed)
            case let .axis(time, axis, value, discrete): pointer.axis(axis, value: value, source: source, discrete: discrete, time: time)
            }
        }
    }

    private func valid(_ axis: UInt32, _ request: Request) -> Bool {
        guard axis <= WL_POINTER_AXIS_HORIZONTAL_SCROLL.rawValue else {
            state.context.post(ZwlrVirtualPointerV1Error.invalidAxis, on: request.resource,
                               "axis \(axis): vertical_scroll 0 or horizontal_scroll 1")
            return false
        }
        return true
    }

    package func resourceDestroyed() {
        state.seat.removeDevice(device)
    }
}
