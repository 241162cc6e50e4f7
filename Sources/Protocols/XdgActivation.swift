import Buffers
import CWayland
import Glibc
import SceneGraph
import WaylandCore

/// `xdg_activation_v1`: a client hands another a token (a launcher to the app it starts, a
/// notification to the app it belongs to) and the other activates its window with it.
///
/// Policy: any token compositord issued in the last 30 s activates, once. A desktop compositor
/// also asks for a recent input serial of the focused client (focus-stealing prevention); on a
/// headless compositor driven by scripts there is often no input at all, and refusing would only
/// leave windows unfocused, so the serial is recorded but not required.
package final class XdgActivationState {
    /// Issued tokens and when they expire (CLOCK_MONOTONIC ns).
    fileprivate var tokens: [String: UInt64] = [:]
    static let lifetimeNs: UInt64 = 30_000_000_000
    unowned(unsafe) let shell: XdgShellState

    package init(shell: XdgShellState) { self.shell = shell }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    fileprivate func issue() -> String {
        let now = Self.now()
        tokens = tokens.filter { $0.value > now }  // forget the expired ones
        let token = RandomHandle.make()
        tokens[token] = now + Self.lifetimeNs
        return token
    }

    /// Whether `token` is one of ours and still fresh; it is used up either way.
    fileprivate func redeem(_ token: String) -> Bool {
        guard let expiry = tokens.removeValue(forKey: token) else { return false }
        return expiry > Self.now()
    }
}

package final class XdgActivation: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: XdgActivationState

    init(state: XdgActivationState) { self.state = state }

    package static func bind(_ state: XdgActivationState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_xdg_activation_v1_interface(), version: version, id: id) { _ in
            XdgActivation(state: state)
        }
    }

    package func handle(_ request: Request) {
        switch XdgActivationV1Request(request) {
        case let .getActivationToken(id)?:
            let state = self.state
            Resources.create(client: request.client, interface: cw_xdg_activation_token_v1_interface(), version: request.version, id: id) { _ in
                XdgActivationToken(state: state)
            }
        case let .activate(token, surface)?:
            // An unknown or stale token is ignored (the spec: the compositor may refuse).
            guard state.redeem(token), let toplevel = Resources.object(surface, as: WlSurface.self)?.surface.xdgToplevel else { return }
            state.shell.delegate.activateRequested(toplevel)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `xdg_activation_token_v1`: set_serial/app_id/surface (recorded, see the policy), commit → done.
package final class XdgActivationToken: ResourceHandler {
    private let state: XdgActivationState
    private var committed = false

    init(state: XdgActivationState) { self.state = state }

    package func handle(_ request: Request) {
        switch XdgActivationTokenV1Request(request) {
        case .setSerial?, .setAppId?, .setSurface?, .commit?:
            guard !committed else {
                return state.shell.context.post(XdgActivationTokenV1Error.alreadyUsed, on: request.resource,
                                                "the token was already committed: get a new one for another activation")
            }
            if case .commit? = XdgActivationTokenV1Request(request) {
                committed = true
                xdg_activation_token_v1_send_done(request.resource, state.issue())
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}
