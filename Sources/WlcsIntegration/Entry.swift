import CWlcs

// The two functions `wlcs_server_integration` (integration.c) points at.

@_cdecl("compositord_wlcs_create_server")
public func compositordWlcsCreateServer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> UnsafeMutablePointer<WlcsDisplayServer>? {
    // argv[0] is the runner; the rest are compositor options.
    let arguments = (1..<max(Int(argc), 1)).compactMap { i in argv?[i].map { String(cString: $0) } }
    return DisplayServer(arguments: arguments).makeRaw()
}

@_cdecl("compositord_wlcs_destroy_server")
public func compositordWlcsDestroyServer(_ server: UnsafeMutablePointer<WlcsDisplayServer>?) {
    guard let server else { return }
    DisplayServer.destroyRaw(server)
}
