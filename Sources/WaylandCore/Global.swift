import Buffers
import CWayland
import Logging

/// A `wl_global`: what a client sees in wl_registry and binds to.
package final class Global {
    package let interfaceName: String
    private var pointer: OpaquePointer?
    private let onBind: (_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) -> Void

    /// The global stays advertised until `destroy()`; the owner must keep this object alive.
    package init?(
        display: OpaquePointer, interface: UnsafePointer<wl_interface>, version: UInt32,
        bind: @escaping (_ client: OpaquePointer, _ version: UInt32, _ id: UInt32) -> Void
    ) {
        interfaceName = String(cString: interface.pointee.name)
        onBind = bind
        let user = Unmanaged.passUnretained(self).toOpaque()
        guard let global = wl_global_create(display, interface, Int32(version), user, globalBind) else { return nil }
        pointer = global
    }

    /// Whether `global` is this one (for the per-client global filter).
    package func `is`(_ global: OpaquePointer?) -> Bool { global != nil && global == pointer }

    package func destroy() {
        if let pointer { wl_global_destroy(pointer) }
        pointer = nil
    }

    fileprivate func bind(client: OpaquePointer, version: UInt32, id: UInt32) {
        onBind(client, version, id)
    }
}

private let globalBind: wl_global_bind_func_t = { client, data, version, id in
    guard let client, let data else { return }
    Unmanaged<Global>.fromOpaque(data).takeUnretainedValue().bind(client: client, version: version, id: id)
}
