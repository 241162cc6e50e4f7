import CWayland
import Glibc

/// A `wl_data_source`: mime types offered for the selection or a drag. Answers `send` with the
/// bytes of `data` for any offered type.
public final class DataSource: EventReceiver {
    public let proxy: OpaquePointer
    /// `cancelled` arrived: the source was replaced, or its drag ended or never started.
    public private(set) var isCancelled = false
    public var data: [UInt8] = []

    /// Creates a source from a bound `wl_data_device_manager` and offers `mimeTypes`.
    public init(manager: OpaquePointer, mimeTypes: [String]) {
        proxy = wl_data_device_manager_create_data_source(manager)
        routeEvents(of: proxy, to: self)
        for mime in mimeTypes { wl_data_source_offer(proxy, mime) }
    }

    deinit {
        wl_data_source_destroy(proxy)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 1:  // send(mime_type, fd): write the data, then close the fd we now own
            let fd = arguments.fd(1)
            _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        case 2:  // cancelled
            isCancelled = true
        default:  // target, dnd_drop_performed, dnd_finished, action: drags never start here
            break
        }
    }
}
