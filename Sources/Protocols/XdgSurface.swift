import Buffers
import SurfaceModel
import CWayland
import SceneGraph
import Outputs
import WaylandCore

/// What an xdg_surface role object (xdg_toplevel, xdg_popup) does in the configure cycle.
package protocol XdgRole: AnyObject {
    /// Sends the role's own configure event; xdg_surface.configure follows it.
    func sendConfigure()
    /// After a commit on a configured surface: map, move or unmap.
    func committed(_ result: CommitResult<Buffer>)
    /// The wl_surface or xdg_surface went away: unmap and forget it.
    func detach()
    /// The xdg_surface was destroyed: drop the reference to it (the role object is inert now).
    func xdgSurfaceDestroyed()
}

/// `xdg_surface`: the configure/ack_configure cycle and window geometry, shared by all xdg roles.
package final class XdgSurface: ResourceHandler, SurfaceRole {
    package let state: XdgShellState
    /// nil once destroyed: held strongly by others, this object may outlive it (nothing is sent then).
    private var resource: OpaquePointer?
    /// The links to the surface and the role object are strong, not weak (a weak reference gives
    /// its target a side table: slow retains and releases on every commit). Each is cut when
    /// either end's Wayland object is destroyed: `surfaceDestroyed`, `resourceDestroyed`, and the
    /// role object's own destroy handler.
    package private(set) var surface: Surface?
    /// Weak (not on the commit path): at disconnect the base may be destroyed first, and reads nil then.
    private weak var wmBase: XdgWmBase?
    /// The toplevel or popup, while its resource exists.
    package var roleObject: XdgRole?
    /// The xdg_surface resource was destroyed (a child popup may still hold this as its parent).
    package var isDestroyed: Bool { resource == nil }
    /// Whether get_toplevel/get_popup was ever called (commits before that are not_constructed).
    private var constructed = false
    /// The client acked a configure since the initial commit (attaching is allowed only then).
    package private(set) var configured = false
    package private(set) var initialCommitDone = false
    private var sentSerials: [UInt32] = []
    private var pendingGeometry: Rect?
    private var geometry: Rect?

    package init(state: XdgShellState, resource: OpaquePointer, surface: Surface, wmBase: XdgWmBase) {
        self.state = state
        self.resource = resource
        self.surface = surface
        self.wmBase = wmBase
    }

    /// The window geometry in surface coordinates: what the client set, else the surface's extents.
    package var windowGeometry: Rect {
        geometry ?? Rect(x: 0, y: 0, width: surface?.width ?? 0, height: surface?.height ?? 0)
    }

    package var version: UInt32 { resource.map { UInt32(wl_resource_get_version($0)) } ?? 0 }

    package func handle(_ request: Request) {
        switch XdgSurfaceRequest(request) {
        case .destroy?:
            if roleObject != nil {
                return state.context.post(XdgSurfaceError.defunctRoleObject, on: request.resource,
                                        "xdg_surface destroyed before its role object")
            }
            wl_resource_destroy(request.resource)
        case let .getToplevel(id)?:
            guard assignRole(request, "xdg_toplevel") else { return }
            Resources.create(client: request.client, interface: cw_xdg_toplevel_interface(), version: request.version, id: id) { r in
                let toplevel = XdgToplevel(state: state, resource: r, xdgSurface: self)
                roleObject = toplevel
                return toplevel
            }
            wmBase?.ping()
        case let .getPopup(id, parentResource, positionerResource)?:
            let parent = parentResource.flatMap { Resources.object($0, as: XdgSurface.self) }
            guard let positioner = Resources.object(positionerResource, as: XdgPositioner.self) else { return }
            guard positioner.rules.isComplete else {
                // An xdg_wm_base error, posted on the xdg_wm_base the surface came from.
                return state.context.post(XdgWmBaseError.invalidPositioner, on: wmBase?.resource ?? request.resource,
                                        "get_popup with an incomplete xdg_positioner (size and anchor rect are required)")
            }
            guard assignRole(request, "xdg_popup") else { return }
            Resources.create(client: request.client, interface: cw_xdg_popup_interface(), version: request.version, id: id) { r in
                let popup = XdgPopup(state: state, resource: r, xdgSurface: self, parent: parent, rules: positioner.rules)
                roleObject = popup
                return popup
            }
        case let .setWindowGeometry(x, y, width, height)?:
            let r = Rect(x: x, y: y, width: width, height: height)
            guard r.width > 0, r.height > 0 else {
                return state.context.post(XdgSurfaceError.invalidSize, on: request.resource,
                                        "window geometry \(r.width)x\(r.height) must be positive")
            }
            pendingGeometry = r
        case let .ackConfigure(serial)?:
            guard let i = sentSerials.firstIndex(of: serial) else {
                return state.context.post(XdgSurfaceError.invalidSerial, on: request.resource,
                                        "ack_configure(\(serial)) names no configure sent to this surface")
            }
            sentSerials.removeFirst(i + 1)  // acking a serial acks every older one too
            configured = true
        case nil: break
        }
    }

    private func assignRole(_ request: Request, _ name: String) -> Bool {
        guard let surface else { return false }
        if constructed {
            state.context.post(XdgSurfaceError.alreadyConstructed, on: request.resource,
                             "xdg_surface already has a role object")
            return false
        }
        guard surface.assignRole(name) else {
            state.context.post(XdgWmBaseError.role, on: request.resource,
                             "wl_surface@\(surface.id) already has the role \(surface.roleName ?? "?")")
            return false
        }
        constructed = true
        return true
    }

    /// Sends the role's configure and `xdg_surface.configure` with a fresh serial.
    package func sendConfigure() {
        guard let resource, let roleObject else { return }
        roleObject.sendConfigure()
        let serial = state.context.nextSerial()
        sentSerials.append(serial)
        xdg_surface_send_configure(resource, serial)
    }

    // MARK: SurfaceRole

    package func validateCommit(_ surface: Surface) -> Bool {
        guard let resource else { return true }  // not the surface's role any more
        guard constructed else {
            state.context.post(XdgSurfaceError.notConstructed, on: resource,
                             "commit before get_toplevel or get_popup gave the xdg_surface a role")
            return false
        }
        if case .attached(.some) = surface.pending.attachment, !configured {
            // The compatibility switch (ServerConfiguration) takes the buffer as if the client
            // had acked the first configure (sent with this commit if it is the initial one).
            // The serial stays valid: a late ack_configure of it is no error.
            if state.implicitFirstConfigureAck {
                configured = true
                return true
            }
            state.context.post(XdgSurfaceError.unconfiguredBuffer, on: resource,
                             "a buffer was attached before the first configure was acknowledged")
            return false
        }
        return true
    }

    package func committed(_ surface: Surface, _ result: CommitResult<Buffer>) {
        if let g = pendingGeometry {
            geometry = g
            pendingGeometry = nil
        }
        if !initialCommitDone {
            initialCommitDone = true
            sendConfigure()
            // Only the compatibility switch lets a buffer through on the initial commit.
            guard configured else { return }
        }
        let wasMapped = surface.view != nil
        roleObject?.committed(result)
        if wasMapped && !surface.hasBuffer {
            // Unmapped by a null buffer: the next commit starts a new initial configure cycle.
            // A surface never mapped is not unmapped (as wlroots): it stays configured.
            initialCommitDone = false
            configured = false
        }
    }

    package func surfaceDestroyed(_ surface: Surface) {
        roleObject?.detach()
        self.surface = nil
    }

    package func resourceDestroyed() {
        resource = nil
        roleObject?.detach()
        roleObject?.xdgSurfaceDestroyed()
        roleObject = nil
        wmBase?.surfaces -= 1
        if let surface, surface.role === self { surface.role = nil }
        surface = nil
    }
}

extension Surface {
    /// The xdg_toplevel whose wl_surface this is, while it has one (the one place the role is
    /// looked through: the shell and the embedder ask it).
    package var xdgToplevel: XdgToplevel? { (role as? XdgSurface)?.roleObject as? XdgToplevel }
    /// The xdg_popup whose wl_surface this is, while it has one.
    package var xdgPopup: XdgPopup? { (role as? XdgSurface)?.roleObject as? XdgPopup }
}
