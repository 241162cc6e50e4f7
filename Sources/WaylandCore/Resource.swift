import Buffers
import CWayland
import Logging

/// A Swift object that implements one `wl_resource`.
///
/// Requests reach it through a single libwayland *dispatcher* (`wl_resource_set_dispatcher`, as
/// wayland-rs does) instead of per-interface C vtables: libwayland has already checked every
/// argument against the XML signature, so handlers decode `Request` into their interface's
/// generated enum (typed, named arguments) and switch over it.
package protocol ResourceHandler: AnyObject {
    /// One request from the client, already type-checked by libwayland.
    func handle(_ request: Request)
    /// The resource is being destroyed (destructor request, client gone, or display teardown).
    func resourceDestroyed()
}

extension ResourceHandler {
    package func resourceDestroyed() {}
}

/// One incoming request: its opcode and arguments in the order the XML lists them.
/// Handlers decode it with their interface's generated enum (`WlShmPoolRequest(request)`,
/// WaylandCore/Generated/ProtocolRequests.swift) rather than by position.
package struct Request {
    package let resource: OpaquePointer
    package let opcode: UInt32
    package let args: UnsafeMutablePointer<wl_argument>?

    package init(resource: OpaquePointer, opcode: UInt32, args: UnsafeMutablePointer<wl_argument>?) {
        self.resource = resource
        self.opcode = opcode
        self.args = args
    }

    package var client: OpaquePointer { wl_resource_get_client(resource) }
    package var version: UInt32 { UInt32(wl_resource_get_version(resource)) }

    // Positional reads: the generated decoders' alone (Generated/ProtocolRequests.swift, in this
    // module). Internal, not package, so no handler can read an argument by position: handlers
    // switch over their interface's `<Interface>Request` with named arguments instead.
    func int(_ i: Int) -> Int32 { args![i].i }
    func uint(_ i: Int) -> UInt32 { args![i].u }
    func fixed(_ i: Int) -> Double { Double(args![i].f) / 256.0 }
    func string(_ i: Int) -> String? { args![i].s.map { String(cString: $0) } }
    /// The new object's id for a `new_id` argument: create the resource with it.
    func newID(_ i: Int) -> UInt32 { args![i].n }
    /// A received file descriptor: whoever it is decoded for owns it and must close it.
    func fd(_ i: Int) -> Int32 { args![i].h }
    /// An object argument (nil when the XML allows null and the client sent null).
    func object(_ i: Int) -> OpaquePointer? { args![i].o }
    func array(_ i: Int) -> UnsafeMutablePointer<wl_array>? { args![i].a }
}

/// The implementation pointer libwayland stores; the dispatcher ignores it, but it must be non-null.
nonisolated(unsafe) private let dispatcherMarker = UnsafeRawPointer(bitPattern: 0x1)!

private let dispatch: wl_dispatcher_func_t = { _, target, opcode, _, args in
    guard let target else { return 0 }
    let resource = OpaquePointer(target)
    guard let handler = Resources.handler(of: resource) else { return 0 }
    handler.handle(Request(resource: resource, opcode: opcode, args: args))
    return 0
}

private let destroyed: wl_resource_destroy_func_t = { resource in
    guard let resource, let user = wl_resource_get_user_data(resource) else { return }
    let unmanaged = Unmanaged<HandlerBox>.fromOpaque(user)
    wl_resource_set_user_data(resource, nil)
    unmanaged.takeUnretainedValue().handler.resourceDestroyed()
    unmanaged.release()
}

/// What a resource's user data points to: the handler as an existential, so finding it for every
/// request is a load, not a dynamic cast to the protocol (a conformance-cache lookup each time).
private final class HandlerBox {
    package let handler: any ResourceHandler
    package init(_ handler: any ResourceHandler) { self.handler = handler }
}

/// Creating resources and finding the Swift object behind one.
package enum Resources {
    /// `wl_resource_create` + dispatcher. The resource keeps `handler` alive until it is destroyed.
    /// Returns nil (after posting no_memory) when libwayland cannot allocate.
    @discardableResult
    package static func create(
        client: OpaquePointer, interface: UnsafePointer<wl_interface>, version: UInt32, id: UInt32,
        handler: (OpaquePointer) -> ResourceHandler
    ) -> OpaquePointer? {
        guard let resource = wl_resource_create(client, interface, Int32(version), id) else {
            wl_client_post_no_memory(client)
            return nil
        }
        let object = handler(resource)
        let user = Unmanaged.passRetained(HandlerBox(object)).toOpaque()
        wl_resource_set_dispatcher(resource, dispatch, dispatcherMarker, user, destroyed)
        return resource
    }

    /// The handler behind a resource we created; nil once it is being destroyed.
    /// Every object a client can name in a request is one compositord created (libwayland's own
    /// wl_display, wl_registry and sync wl_callback never appear as request arguments).
    package static func handler(of resource: OpaquePointer) -> ResourceHandler? {
        guard let user = wl_resource_get_user_data(resource) else { return nil }
        return Unmanaged<HandlerBox>.fromOpaque(user).takeUnretainedValue().handler
    }

    /// The handler behind `resource` if it has type `T` (e.g. the `Surface` of a wl_surface argument).
    package static func object<T: ResourceHandler>(_ resource: OpaquePointer?, as type: T.Type) -> T? {
        guard let resource else { return nil }
        return handler(of: resource) as? T
    }

}
