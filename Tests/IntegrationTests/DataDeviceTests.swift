import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// wl_data_device_manager v3 without input: sources and their errors, and a seat's data device
/// whose selection and drag requests carry no valid input serial.
@Suite struct DataDeviceTests {
    let timeout = Duration.seconds(15)

    struct Client {
        let compositor: CompositorProcess
        let context: ClientContext
        let manager: OpaquePointer
    }

    func connect(_ arguments: [String] = []) throws -> Client {
        let c = try CompositorProcess(arguments)
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let manager = try context.registry.bind("wl_data_device_manager", table: cw_wl_data_device_manager_interface(), maxVersion: 3)
        #expect(manager.version == 3)
        return Client(compositor: c, context: context, manager: manager.proxy)
    }

    /// A wl_data_device of the seat (which has no input devices: no client gets input serials).
    func dataDevice(_ client: Client) throws -> OpaquePointer {
        let seat = try client.context.registry.bind("wl_seat", table: cw_wl_seat_interface(), maxVersion: 1)
        return wl_data_device_manager_get_data_device(client.manager, seat.proxy)
    }

    /// Roundtrips and returns the protocol error it ended with (nil if none).
    func error(_ client: Client) throws -> ProtocolError? {
        do {
            try client.context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the roundtrip")
            return nil
        } catch let error as ProtocolError {
            return error
        }
    }

    @Test(arguments: [("a bit outside copy|move|ask", [UInt32(0x8)]), ("twice", [UInt32(1), UInt32(2)])])
    func setActionsIsInvalidActionMask(_ name: String, _ masks: [UInt32]) throws {
        let client = try connect()
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain"])
        for mask in masks { wl_data_source_set_actions(source.proxy, mask) }
        let e = try #require(try error(client), "\(name): no protocol error")
        #expect(e.interface == "wl_data_source" && e.code == WL_DATA_SOURCE_ERROR_INVALID_ACTION_MASK.rawValue, "\(name): \(e)")
        #expect(client.compositor.isRunning)
    }

    @Test func validSourceRequestsRaiseNothing() throws {
        let client = try connect()
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain", "text/plain;charset=utf-8"])
        wl_data_source_set_actions(source.proxy, WL_DATA_DEVICE_MANAGER_DND_ACTION_COPY.rawValue | WL_DATA_DEVICE_MANAGER_DND_ACTION_MOVE.rawValue)
        #expect(try error(client) == nil)
        #expect(!source.isCancelled)
    }

    @Test func selectionWithoutAnInputSerialIsIgnored() throws {
        let client = try connect(["--verbose"])
        let device = try dataDevice(client)
        defer { wl_data_device_release(device) }
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain"])
        wl_data_device_set_selection(device, source.proxy, 1)
        #expect(try error(client) == nil)
        // Ignored as a stale serial is: the source is neither taken nor cancelled.
        #expect(!source.isCancelled)
        #expect(client.compositor.log.contains("set_selection ignored"), "\(client.compositor.log)")
    }

    @Test func sourceUsedTwiceIsUsedSource() throws {
        let client = try connect()
        let device = try dataDevice(client)
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain"])
        wl_data_device_set_selection(device, source.proxy, 1)
        wl_data_device_set_selection(device, source.proxy, 2)
        let e = try #require(try error(client))
        #expect(e.interface == "wl_data_device" && e.code == 1, "used_source: \(e)")
    }

    @Test func dragAndDropSourceAsSelectionIsInvalidSource() throws {
        let client = try connect()
        let device = try dataDevice(client)
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain"])
        wl_data_source_set_actions(source.proxy, WL_DATA_DEVICE_MANAGER_DND_ACTION_COPY.rawValue)
        wl_data_device_set_selection(device, source.proxy, 1)
        let e = try #require(try error(client))
        #expect(e.interface == "wl_data_source" && e.code == WL_DATA_SOURCE_ERROR_INVALID_SOURCE.rawValue, "\(e)")
    }

    /// No button is down, so no implicit grab matches: the drag is cancelled at once, and the
    /// source, now used, takes no more actions.
    @Test func dragWithoutAGrabIsCancelled() throws {
        let client = try connect()
        let device = try dataDevice(client)
        let compositor = try client.context.registry.bind("wl_compositor", table: cw_wl_compositor_interface(), maxVersion: 4)
        let origin = wl_compositor_create_surface(compositor.proxy)!
        let source = DataSource(manager: client.manager, mimeTypes: ["text/plain"])
        wl_data_source_set_actions(source.proxy, WL_DATA_DEVICE_MANAGER_DND_ACTION_COPY.rawValue)
        wl_data_device_start_drag(device, source.proxy, origin, nil, 1)
        try client.context.connection.wait(timeout: timeout) { source.isCancelled }.orThrow(waitingFor: "wl_data_source.cancelled")
        wl_data_source_set_actions(source.proxy, WL_DATA_DEVICE_MANAGER_DND_ACTION_MOVE.rawValue)
        let e = try #require(try error(client))
        #expect(e.interface == "wl_data_source" && e.code == WL_DATA_SOURCE_ERROR_INVALID_SOURCE.rawValue, "\(e)")
    }

    @Test func dragIconWithAnotherRoleIsRoleError() throws {
        let client = try connect()
        let device = try dataDevice(client)
        let compositor = try client.context.registry.bind("wl_compositor", table: cw_wl_compositor_interface(), maxVersion: 4)
        let origin = wl_compositor_create_surface(compositor.proxy)!
        let icon = wl_compositor_create_surface(compositor.proxy)!
        let wmBase = try client.context.registry.bind("xdg_wm_base", table: cw_xdg_wm_base_interface(), maxVersion: 1)
        let xdgSurface = xdg_wm_base_get_xdg_surface(wmBase.proxy, icon)
        _ = xdg_surface_get_toplevel(xdgSurface)
        wl_data_device_start_drag(device, nil, origin, icon, 1)
        let e = try #require(try error(client))
        #expect(e.interface == "wl_data_device" && e.code == WL_DATA_DEVICE_ERROR_ROLE.rawValue, "\(e)")
    }
}
