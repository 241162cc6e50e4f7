import CWayland
import Protocols
import SceneGraph
import WaylandCore

/// xdg_activation_v1's family state: the tokens issued, and the seat (input serials, and the
/// shell through its delegate, which activates windows).
///
/// A token may activate a window only if the client that asked for it named, with `set_serial`,
/// one of its own recent input serials (a press, key or keyboard enter: the user acted in it),
/// as peers require; any other token is issued (clients need one to pass on) but activates
/// nothing. Each token works once; at most `maxTokens` are kept, the oldest dropped first.
package final class XdgActivationState {
    package static let maxTokens = 64
    package unowned let context: ProtocolContext
    package unowned let seat: Seat
    private var tokens: [(token: String, grants: Bool)] = []

    package init(context: ProtocolContext, seat: Seat) {
        self.context = context
        self.seat = seat
    }

    /// A fresh token (128 random bits from the system generator, getrandom on Linux).
    fileprivate func issue(grants: Bool) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
        tokens.append((token, grants))
        if tokens.count > Self.maxTokens { tokens.removeFirst() }
        return token
    }

    /// Whether `token` may activate (nil: never issued, or used already); it is used up.
    fileprivate func redeem(_ token: String) -> Bool? {
        guard let i = tokens.firstIndex(where: { $0.token == token }) else { return nil }
        return tokens.remove(at: i).grants
    }
}

/// `xdg_activation_v1`.
package final class XdgActivation: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: XdgActivationState

    private init(state: XdgActivationState) { self.state = state }

    package static func bind(_ state: XdgActivationState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_xdg_activation_v1_interface(), version: version, id: id) { _ in
            XdgActivation(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch XdgActivationV1Request(request) {
        case let .getActivationToken(id)?:
            Resources.create(client: request.client, interface: cw_xdg_activation_token_v1_interface(), version: request.version, id: id) { r in
                XdgActivationToken(state: state, resource: r)
            }
        case let .activate(token, surfaceResource)?:
            let granted = state.redeem(token)
            guard granted == true, let surface = Resources.object(surfaceResource, as: WlSurface.self)?.surface else {
                // Invalid tokens are not errors ("the compositor may ignore the request").
                return state.context.logger.debug("xdg_activation_v1.activate ignored: \(granted == nil ? "unknown or used token" : "the token named no recent input")")
            }
            state.seat.delegate?.focusWindow(containing: surface)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `xdg_activation_token_v1`: collects a serial (and an app id and surface, which compositord
/// does not need), then `commit` answers `done` with the token.
package final class XdgActivationToken: ResourceHandler {
    private let state: XdgActivationState
    private let resource: OpaquePointer
    private var serial: UInt32?
    private var committed = false

    init(state: XdgActivationState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        guard let decoded = XdgActivationTokenV1Request(request) else { return }
        if case .destroy = decoded { return wl_resource_destroy(request.resource) }
        guard !committed else {
            return state.context.post(XdgActivationTokenV1Error.alreadyUsed, on: request.resource,
                                      "the token was committed already: get a new xdg_activation_token_v1")
        }
        switch decoded {
        case let .setSerial(serial, _): self.serial = serial  // one seat
        case .commit:
            committed = true
            let grants = serial.map { state.seat.isInputSerial($0, of: request.client) } ?? false
            xdg_activation_token_v1_send_done(resource, state.issue(grants: grants))
        default: break  // set_app_id, set_surface
        }
    }
}
