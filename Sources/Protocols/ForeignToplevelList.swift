import Buffers
import CWayland
import WaylandCore

/// `ext_foreign_toplevel_list_v1`: the mapped toplevels, for taskbars, window switchers and
/// capture tools (a toplevel's handle is what `ext_foreign_toplevel_image_capture_source_manager_v1`
/// captures). xdg_toplevel tells it when a window is mapped, renamed and gone.
package final class ForeignToplevelListState {
    package unowned let context: ProtocolContext
    /// For the taskbar's requests (zwlr_foreign_toplevel_handle_v1): set by XdgShellState.
    unowned(unsafe) var shell: XdgShellState!

    /// One mapped toplevel: its stable identifier and the handles clients hold for it.
    final class Entry {
        weak var toplevel: XdgToplevel?
        let identifier: String
        var handles: [ForeignToplevelHandle] = []
        var wlrHandles: [WlrForeignToplevelHandle] = []
        /// Called once when the toplevel is unmapped or destroyed (capture sessions stop).
        var onGone: [() -> Void] = []
        init(_ toplevel: XdgToplevel, identifier: String) {
            self.toplevel = toplevel
            self.identifier = identifier
        }
    }

    /// Mapped toplevels, oldest first.
    private var entries: [Entry] = []
    /// Bound lists that have not said `stop`.
    private var lists: [ForeignToplevelList] = []
    /// Bound wlr managers that have not said `stop`.
    private var wlrManagers: [WlrForeignToplevelManager] = []

    package init(context: ProtocolContext) { self.context = context }

    package static func bind(_ state: ForeignToplevelListState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_ext_foreign_toplevel_list_v1_interface(), version: version, id: id,
                                       handler: { r in ForeignToplevelList(state: state, resource: r) }),
              let list = Resources.handler(of: r) as? ForeignToplevelList else { return }
        state.lists.append(list)
        for entry in state.entries { state.announce(entry, to: list) }
    }

    /// A toplevel was mapped: every list gets a handle for it.
    func mapped(_ toplevel: XdgToplevel) {
        guard entry(toplevel) == nil else { return }
        let entry = Entry(toplevel, identifier: RandomHandle.make())
        entries.append(entry)
        for list in lists { announce(entry, to: list) }
        for manager in wlrManagers { announce(entry, to: manager) }
    }

    /// Its title or app id changed: every handle is told, then `done`.
    func changed(_ toplevel: XdgToplevel) {
        guard let entry = entry(toplevel) else { return }
        for handle in entry.handles { handle.sendDetails(of: toplevel, identifier: nil) }
        for handle in entry.wlrHandles { handle.sendDetails(of: toplevel) }
    }

    /// It was unmapped or destroyed: `closed` on every handle; a later map is a new toplevel.
    func gone(_ toplevel: XdgToplevel) {
        guard let i = entries.firstIndex(where: { $0.toplevel === toplevel }) else { return }
        let entry = entries.remove(at: i)
        for handle in entry.handles { handle.close() }
        for handle in entry.wlrHandles { handle.close() }
        for body in entry.onGone { body() }
        entry.onGone = []
    }

    /// Calls `body` when `toplevel` is gone (at once if it is not mapped).
    package func whenGone(_ toplevel: XdgToplevel?, _ body: @escaping () -> Void) {
        guard let toplevel, let entry = entry(toplevel) else { return body() }
        entry.onGone.append(body)
    }

    func listStopped(_ list: ForeignToplevelList) {
        lists.removeAll { $0 === list }
    }

    package static func bindWlr(_ state: ForeignToplevelListState, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        guard let r = Resources.create(client: client, interface: cw_zwlr_foreign_toplevel_manager_v1_interface(), version: version, id: id,
                                       handler: { r in WlrForeignToplevelManager(state: state, resource: r) }),
              let manager = Resources.handler(of: r) as? WlrForeignToplevelManager else { return }
        state.wlrManagers.append(manager)
        for entry in state.entries { state.announce(entry, to: manager) }
    }

    func managerStopped(_ manager: WlrForeignToplevelManager) {
        wlrManagers.removeAll { $0 === manager }
    }

    private func announce(_ entry: Entry, to manager: WlrForeignToplevelManager) {
        guard let toplevel = entry.toplevel, let managerResource = manager.resource,
              let r = Resources.create(client: wl_resource_get_client(managerResource), interface: cw_zwlr_foreign_toplevel_handle_v1_interface(),
                                       version: UInt32(wl_resource_get_version(managerResource)), id: 0,
                                       handler: { r in WlrForeignToplevelHandle(state: self, resource: r, toplevel: toplevel) }),
              let handle = Resources.handler(of: r) as? WlrForeignToplevelHandle else { return }
        zwlr_foreign_toplevel_manager_v1_send_toplevel(managerResource, r)
        entry.wlrHandles.append(handle)
        handle.sendDetails(of: toplevel)
    }

    private func entry(_ toplevel: XdgToplevel) -> Entry? { entries.first { $0.toplevel === toplevel } }

    private func announce(_ entry: Entry, to list: ForeignToplevelList) {
        guard let toplevel = entry.toplevel, let listResource = list.resource,
              let r = Resources.create(client: wl_resource_get_client(listResource), interface: cw_ext_foreign_toplevel_handle_v1_interface(),
                                       version: UInt32(wl_resource_get_version(listResource)), id: 0,
                                       handler: { r in ForeignToplevelHandle(resource: r, toplevel: toplevel) }),
              let handle = Resources.handler(of: r) as? ForeignToplevelHandle else { return }
        ext_foreign_toplevel_list_v1_send_toplevel(listResource, r)
        entry.handles.append(handle)
        handle.sendDetails(of: toplevel, identifier: entry.identifier)
    }

}

/// 32 random hex digits (128 bits): a toplevel's identifier, an exported handle. Unique and
/// meaningless to anyone else, as those specs ask; unguessable, so a handle cannot be forged.
enum RandomHandle {
    static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(rng.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

/// `ext_foreign_toplevel_list_v1`: one client's list.
package final class ForeignToplevelList: ResourceHandler {
    package static let version: UInt32 = 1
    private let state: ForeignToplevelListState
    fileprivate private(set) var resource: OpaquePointer?

    init(state: ForeignToplevelListState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ExtForeignToplevelListV1Request(request) {
        case .stop?:
            // No more toplevels for this list; `finished` says so, then the client destroys it.
            guard resource != nil else { return }
            state.listStopped(self)
            ext_foreign_toplevel_list_v1_send_finished(request.resource)
        case .destroy?:
            wl_resource_destroy(request.resource)
        case nil: break
        }
    }

    package func resourceDestroyed() {
        resource = nil
        state.listStopped(self)
    }
}

/// `ext_foreign_toplevel_handle_v1`: one toplevel as a list sees it; inert once `closed`.
package final class ForeignToplevelHandle: ResourceHandler {
    private var resource: OpaquePointer?
    /// The toplevel, until it is gone (then the handle is inert).
    package private(set) weak var toplevel: XdgToplevel?

    init(resource: OpaquePointer, toplevel: XdgToplevel) {
        self.resource = resource
        self.toplevel = toplevel
    }

    /// The handle behind an `ext_foreign_toplevel_handle_v1` resource.
    package static func handle(_ resource: OpaquePointer) -> ForeignToplevelHandle? {
        Resources.handler(of: resource) as? ForeignToplevelHandle
    }

    /// Title, app id (and the identifier, the first time), then `done`.
    func sendDetails(of toplevel: XdgToplevel, identifier: String?) {
        guard let resource else { return }
        if let identifier { ext_foreign_toplevel_handle_v1_send_identifier(resource, identifier) }
        ext_foreign_toplevel_handle_v1_send_title(resource, toplevel.title)
        ext_foreign_toplevel_handle_v1_send_app_id(resource, toplevel.appID)
        ext_foreign_toplevel_handle_v1_send_done(resource)
    }

    func close() {
        toplevel = nil
        if let resource { ext_foreign_toplevel_handle_v1_send_closed(resource) }
    }

    package func handle(_ request: Request) {
        if case .destroy? = ExtForeignToplevelHandleV1Request(request) { wl_resource_destroy(request.resource) }
    }

    package func resourceDestroyed() { resource = nil }
}
