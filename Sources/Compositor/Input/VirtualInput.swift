/// Input injected by an embedder (the wlcs integration module, tests): virtual pointers and
/// touch devices on the seat, and placing windows. Must be called on the server's thread.
///
/// Coordinates are output (compositor) space in pixels, fractional where the device allows it.
public struct VirtualDeviceID: Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
}

extension Server {
    /// A pointer device appears: the seat gains the pointer capability while one exists.
    public func addVirtualPointer() -> VirtualDeviceID {
        VirtualDeviceID(rawValue: 0)  // TODO(seat)
    }

    public func removeVirtualPointer(_ device: VirtualDeviceID) {}

    public func pointerMoveAbsolute(_ device: VirtualDeviceID, x: Double, y: Double) {}

    public func pointerMoveRelative(_ device: VirtualDeviceID, dx: Double, dy: Double) {}

    /// `button` is a Linux input code (BTN_LEFT = 0x110).
    public func pointerButton(_ device: VirtualDeviceID, button: UInt32, pressed: Bool) {}

    /// A touch device appears: the seat gains the touch capability while one exists.
    public func addVirtualTouch() -> VirtualDeviceID {
        VirtualDeviceID(rawValue: 0)  // TODO(seat)
    }

    public func removeVirtualTouch(_ device: VirtualDeviceID) {}

    public func touchDown(_ device: VirtualDeviceID, x: Double, y: Double) {}

    public func touchMove(_ device: VirtualDeviceID, x: Double, y: Double) {}

    public func touchUp(_ device: VirtualDeviceID) {}

    /// Moves the window whose wl_surface is object `surfaceID` of `client` (a server-side
    /// wl_client) so that the surface's origin is at (x, y) in output space.
    public func positionWindow(client: OpaquePointer, surfaceID: UInt32, x: Int32, y: Int32) {}
}
