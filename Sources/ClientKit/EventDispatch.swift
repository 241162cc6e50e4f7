import CWayland

/// A Swift object that receives the events of one or more proxies it owns.
///
/// Events arrive through a single C dispatcher (no C listener structs): the proxy's user data is
/// an unretained pointer to the receiver. The receiver therefore must destroy its proxies before
/// it goes away, which every owner in this module does in `deinit`.
protocol EventReceiver: AnyObject {
    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments)
}

/// Read access to the arguments of one event, by position.
struct EventArguments {
    let base: UnsafeMutablePointer<wl_argument>?

    func int(_ index: Int) -> Int32 { base?[index].i ?? 0 }
    func uint(_ index: Int) -> UInt32 { base?[index].u ?? 0 }
    func string(_ index: Int) -> String {
        guard let s = base?[index].s else { return "" }
        return String(cString: s)
    }
    /// A descriptor received with the event: the receiver owns it and must close it.
    func fd(_ index: Int) -> Int32 { base?[index].h ?? -1 }
    /// An `array` argument's bytes, copied.
    func array(_ index: Int) -> [UInt8] {
        guard let array = base?[index].a, let data = array.pointee.data, array.pointee.size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: array.pointee.size))
    }
    /// An `object` or `new_id` argument: for a `new_id` event, the proxy libwayland just made.
    func object(_ index: Int) -> OpaquePointer? { base?[index].o }
}

/// Routes the events of `proxy` to `receiver` (not retained).
func routeEvents(of proxy: OpaquePointer, to receiver: some EventReceiver) {
    let pointer = Unmanaged.passUnretained(receiver as AnyObject).toOpaque()
    // The implementation pointer only has to be non-null; the dispatcher ignores it.
    let result = wl_proxy_add_dispatcher(proxy, eventDispatcher, pointer, pointer)
    precondition(result == 0, "proxy already has a dispatcher")
}

private func eventDispatcher(
    _ implementation: UnsafeRawPointer?,
    _ target: UnsafeMutableRawPointer?,
    _ opcode: UInt32,
    _ message: UnsafePointer<wl_message>?,
    _ arguments: UnsafeMutablePointer<wl_argument>?
) -> Int32 {
    // For client proxies the target is the wl_proxy itself.
    guard let target else { return 0 }
    let proxy = OpaquePointer(target)
    guard let userData = wl_proxy_get_user_data(proxy) else { return 0 }
    let object = Unmanaged<AnyObject>.fromOpaque(userData).takeUnretainedValue()
    (object as? EventReceiver)?.handleEvent(proxy: proxy, opcode: opcode, arguments: EventArguments(base: arguments))
    return 0
}
