import CWayland

/// `wl_data_device_manager` v3: the factory for data sources and per-seat data devices.
final class DataDeviceManager: ResourceHandler {
    static let version: UInt32 = 3
    private unowned let server: Server

    init(server: Server) { self.server = server }

    static func bind(_ server: Server, _ client: OpaquePointer, _ version: UInt32, _ id: UInt32) {
        Resources.create(client: client, interface: cw_wl_data_device_manager_interface(), version: version, id: id) { _ in
            DataDeviceManager(server: server)
        }
    }

    func handle(_ request: Request) {
        switch Int32(request.opcode) {
        case WL_DATA_DEVICE_MANAGER_CREATE_DATA_SOURCE:
            Resources.create(client: request.client, interface: cw_wl_data_source_interface(), version: request.version, id: request.newID(0)) { r in
                DataSource(server: server, resource: r)
            }
        case WL_DATA_DEVICE_MANAGER_GET_DATA_DEVICE:
            // The wl_seat argument (args[1]) names the one seat there is; libwayland has checked it
            // is a wl_seat, and nothing here needs more of it.
            Resources.create(client: request.client, interface: cw_wl_data_device_interface(), version: request.version, id: request.newID(0)) { r in
                let device = DataDevice(server: server, resource: r)
                server.selection.add(device)
                return device
            }
        default: break
        }
    }
}
