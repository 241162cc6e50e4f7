import Buffers
import CWayland
import SceneGraph
import WaylandCore

/// xdg-foreign v2 (`zxdg_exporter_v2`, `zxdg_importer_v2`): one client exports its toplevel as
/// a handle, another imports it and makes it the parent of its own dialog (a file chooser of a
/// sandboxed app, say). compositord keeps the handles and checks the surfaces; the parent link
/// itself means what `xdg_toplevel.set_parent` means here: nothing beyond stacking, which
/// compositord does not arrange by parent.
package final class XdgForeignState {
    /// Live exports by handle.
    fileprivate var exports: [String: XdgExported] = [:]

    package init() {}

    fileprivate static func toplevel(_ surfaceResource: OpaquePointer) -> XdgToplevel? {
        Resources.object(surfaceResource, as: WlSurface.self)?.surface.xdgToplevel
    }
}

package final class XdgExporter: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: XdgForeignState
    private let context: ProtocolContext

    init(state: XdgForeignState, context: ProtocolContext) {
        self.state = state
        self.context = context
    }

    package static func bind(_ state: XdgForeignState, _ context: ProtocolContext, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zxdg_exporter_v2_interface(), version: version, id: id) { _ in
            XdgExporter(state: state, context: context)
        }
    }

    package func handle(_ request: Request) {
        switch ZxdgExporterV2Request(request) {
        case let .exportToplevel(id, surface)?:
            guard XdgForeignState.toplevel(surface) != nil else {
                return context.post(ZxdgExporterV2Error.invalidSurface, on: request.resource,
                                    "wl_surface@\(wl_resource_get_id(surface)) is not an xdg_toplevel: only toplevels can be exported")
            }
            let handle = RandomHandle.make()
            let state = self.state
            guard let r = Resources.create(client: request.client, interface: cw_zxdg_exported_v2_interface(), version: request.version, id: id,
                                           handler: { _ in XdgExported(state: state, handle: handle) }),
                  let exported = Resources.handler(of: r) as? XdgExported else { return }
            state.exports[handle] = exported
            zxdg_exported_v2_send_handle(r, handle)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

/// One export: its handle lives as long as this object; its importers hear `destroyed` after.
package final class XdgExported: ResourceHandler {
    private let state: XdgForeignState
    let handle: String
    fileprivate var importers: [XdgImported] = []

    init(state: XdgForeignState, handle: String) {
        self.state = state
        self.handle = handle
    }

    package func handle(_ request: Request) {
        if case .destroy? = ZxdgExportedV2Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() {
        if state.exports[handle] === self { state.exports[handle] = nil }
        for imported in importers { imported.exportGone() }
        importers = []
    }
}

package final class XdgImporter: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: XdgForeignState
    private let context: ProtocolContext

    init(state: XdgForeignState, context: ProtocolContext) {
        self.state = state
        self.context = context
    }

    package static func bind(_ state: XdgForeignState, _ context: ProtocolContext, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_zxdg_importer_v2_interface(), version: version, id: id) { _ in
            XdgImporter(state: state, context: context)
        }
    }

    package func handle(_ request: Request) {
        switch ZxdgImporterV2Request(request) {
        case let .importToplevel(id, handle)?:
            let export = state.exports[handle]
            let context = self.context
            guard let r = Resources.create(client: request.client, interface: cw_zxdg_imported_v2_interface(), version: request.version, id: id,
                                           handler: { r in XdgImported(context: context, resource: r) }),
                  let imported = Resources.handler(of: r) as? XdgImported else { return }
            // An unknown handle is not an error: the import is dead at once.
            if let export { export.importers.append(imported) } else { imported.exportGone() }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }
}

package final class XdgImported: ResourceHandler {
    private let context: ProtocolContext
    private var resource: OpaquePointer?
    private var dead = false

    init(context: ProtocolContext, resource: OpaquePointer) {
        self.context = context
        self.resource = resource
    }

    /// The export was destroyed (or never existed): `destroyed`, and the import is inert.
    fileprivate func exportGone() {
        guard !dead else { return }
        dead = true
        if let resource { zxdg_imported_v2_send_destroyed(resource) }
    }

    package func handle(_ request: Request) {
        switch ZxdgImportedV2Request(request) {
        case let .setParentOf(surface)?:
            guard XdgForeignState.toplevel(surface) != nil else {
                return context.post(ZxdgImportedV2Error.invalidSurface, on: request.resource,
                                    "wl_surface@\(wl_resource_get_id(surface)) is not an xdg_toplevel: only a toplevel can have a parent")
            }
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func resourceDestroyed() { resource = nil }
}
