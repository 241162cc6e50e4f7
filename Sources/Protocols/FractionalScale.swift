import Buffers
import CWayland
import SceneGraph
import WaylandCore

/// `wp_fractional_scale_manager_v1`: tells each surface that asks the scale it would best be
/// drawn at, in 120ths (120 = 1×), and tells it again when that changes (the surface moved to an
/// output of another scale). compositord's output scales are whole numbers (`--output …,scale=N`),
/// so the preferred scale is 120·N of the output the surface is on.
package final class FractionalScaleState {
    package unowned let context: ProtocolContext
    /// The scale for a surface (its output's); 1 until the compositor says otherwise.
    package var preferredScale: (Surface) -> Int32 = { _ in 1 }
    /// The objects alive, per surface (at most one each: fractional_scale_exists).
    private var objects: [ObjectIdentifier: FractionalScaleObject] = [:]

    package init(context: ProtocolContext) { self.context = context }

    package static func bind(_ state: FractionalScaleState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wp_fractional_scale_manager_v1_interface(), version: version, id: id) { _ in
            FractionalScaleManager(state: state)
        }
    }

    /// The surface's scale may have changed (it entered or left an output): told if it did,
    /// through wp_fractional_scale_v1 and, for a wl_surface of version 6, preferred_buffer_scale.
    /// That event is sent only when the scale is not the default 1: a client built with
    /// libwayland 1.21 (Debian 12's) that binds the advertised wl_compositor v6 has v5 tables,
    /// and an event it does not know would cost it its connection; on 1× outputs it never gets one.
    package func update(_ surface: Surface) {
        let scale = preferredScale(surface)
        objects[ObjectIdentifier(surface)]?.send(scale)
        guard scale != surface.preferredBufferScaleSent, let resource = surface.resource, wl_resource_get_version(resource) >= 6 else { return }
        surface.preferredBufferScaleSent = scale
        cw_wl_surface_send_preferred_buffer_scale(resource, scale)
    }

    fileprivate func add(_ object: FractionalScaleObject, for surface: Surface) -> Bool {
        let key = ObjectIdentifier(surface)
        guard objects[key] == nil else { return false }
        objects[key] = object
        return true
    }

    fileprivate func remove(_ object: FractionalScaleObject, for key: ObjectIdentifier) {
        if objects[key] === object { objects[key] = nil }
    }
}

package final class FractionalScaleManager: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: FractionalScaleState

    init(state: FractionalScaleState) { self.state = state }

    package func handle(_ request: Request) {
        switch WpFractionalScaleManagerV1Request(request) {
        case let .getFractionalScale(id, surfaceResource)?:
            guard let surface = Resources.object(surfaceResource, as: WlSurface.self)?.surface else { return }
            let state = self.state
            guard let r = Resources.create(client: request.client, interface: cw_wp_fractional_scale_v1_interface(), version: request.version, id: id,
                                           handler: { r in FractionalScaleObject(state: state, resource: r, surface: surface) }),
                  let object = Resources.handler(of: r) as? FractionalScaleObject else { return }
            guard state.add(object, for: surface) else {
                return state.context.post(WpFractionalScaleManagerV1Error.fractionalScaleExists, on: request.resource,
                                          "wl_surface@\(wl_resource_get_id(surfaceResource)) already has a wp_fractional_scale_v1: destroy it first")
            }
            object.send(state.preferredScale(surface))
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// `wp_fractional_scale_v1`: `preferred_scale` at once and at every change.
package final class FractionalScaleObject: ResourceHandler {
    private let state: FractionalScaleState
    private var resource: OpaquePointer?
    private let key: ObjectIdentifier
    private var sent: UInt32?

    init(state: FractionalScaleState, resource: OpaquePointer, surface: Surface) {
        self.state = state
        self.resource = resource
        key = ObjectIdentifier(surface)
    }

    func send(_ scale: Int32) {
        let value = UInt32(max(scale, 1)) * 120
        guard let resource, value != sent else { return }
        sent = value
        wp_fractional_scale_v1_send_preferred_scale(resource, value)
    }

    package func handle(_ request: Request) {
        if case .destroy? = WpFractionalScaleV1Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        resource = nil
        state.remove(self, for: key)
    }
}
