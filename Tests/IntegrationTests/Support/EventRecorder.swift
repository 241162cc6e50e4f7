import CWayland

/// Records the events of raw libwayland-client proxies (made with the generated C functions, for
/// protocols ClientKit does not wrap): each event's opcode and its arguments, strings copied and
/// integers kept, in arrival order. Attach it before the first roundtrip that may bring events.
final class EventRecorder {
    enum Value: Equatable {
        case int(Int32), uint(UInt32), string(String?), object, array(Int), fd
    }
    struct Event: Equatable {
        let proxyID: UInt32
        let opcode: UInt32
        let arguments: [Value]
    }

    private(set) var events: [Event] = []

    /// Routes `proxy`'s events here (a proxy has one dispatcher: not for ClientKit's own proxies).
    func attach(_ proxy: OpaquePointer) {
        wl_proxy_add_dispatcher(proxy, { implementation, target, opcode, message, arguments in
            let recorder = Unmanaged<EventRecorder>.fromOpaque(implementation!).takeUnretainedValue()
            var values: [Value] = []
            var i = 0
            for c in String(cString: message!.pointee.signature) where c.isLetter {
                let a = arguments![i]
                switch c {
                case "i": values.append(.int(a.i))
                case "u": values.append(.uint(a.u))
                case "f": values.append(.int(a.f))
                case "s": values.append(.string(a.s.map { String(cString: $0) }))
                case "o", "n": values.append(.object)
                case "a": values.append(.array(a.a.map { Int($0.pointee.size) } ?? 0))
                case "h": values.append(.fd)
                default: continue
                }
                i += 1
            }
            let id = wl_proxy_get_id(OpaquePointer(target!))
            recorder.events.append(Event(proxyID: id, opcode: opcode, arguments: values))
            return 0
        }, Unmanaged.passUnretained(self).toOpaque(), nil)
    }

    /// The events of `proxy`, in order.
    func events(of proxy: OpaquePointer) -> [Event] {
        let id = wl_proxy_get_id(proxy)
        return events.filter { $0.proxyID == id }
    }
}
