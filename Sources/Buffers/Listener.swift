import CWayland

/// A `wl_listener` owned by Swift. It stays linked to its signal until it is deallocated (or the
/// signal's owner goes away), so the owner keeps it exactly as long as it wants the notification.
package final class Listener {
    fileprivate let raw: OpaquePointer
    private let notify: (UnsafeMutableRawPointer?) -> Void

    package init(_ notify: @escaping (UnsafeMutableRawPointer?) -> Void) {
        self.notify = notify
        // Placeholder user pointer; replaced below once `self` exists.
        raw = cw_listener_create(listenerTrampoline, nil)
        cw_listener_set_user(raw, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { cw_listener_destroy(raw) }

    fileprivate func fire(_ data: UnsafeMutableRawPointer?) { notify(data) }

    package func listen(toClientDestroy client: OpaquePointer) { cw_client_add_destroy_listener(client, raw) }
    package func listen(toClientCreated display: OpaquePointer) { cw_display_add_client_created_listener(display, raw) }
    package func listen(toResourceDestroy resource: OpaquePointer) { cw_resource_add_destroy_listener(resource, raw) }
}

private let listenerTrampoline: cw_notify_fn = { user, data in
    guard let user else { return }
    Unmanaged<Listener>.fromOpaque(user).takeUnretainedValue().fire(data)
}
