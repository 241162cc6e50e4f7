import Buffers
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement
import CWayland

/// Everything compositord's command line can set.
public struct ServerConfiguration: Sendable {
    /// The socket name in `$XDG_RUNTIME_DIR`; nil picks the first free `wayland-N`.
    public var socketName: String? = nil
    /// Whether to listen on a socket in `$XDG_RUNTIME_DIR`. An embedder that connects its
    /// clients itself (`Server.connectClient(socket:)`, the wlcs module) turns it off; then
    /// no socket and no runtime dir are needed.
    public var listen: Bool = true
    public var width: Int32 = 1920
    public var height: Int32 = 1080
    /// Output refresh in Hz; 0 renders on every commit (for throughput measurements).
    public var refreshHz: Double = 60
    /// Keep every departed client's counters until exit (`--stats` lists each client); else a
    /// departed client's counters are summed into totals, and memory does not grow per connection.
    public var keepClientStatistics = false
    /// When the output is composited: on demand (default, headless) or at every vblank with damage.
    public var compositing: Compositing = .onDemand
    /// The output background, 0xAARRGGBB (documented in the README: a dark slate).
    public var background: UInt32 = 0xFF20_2830
    /// Which wl_shm pool files are accepted and which are read under the SIGBUS guard.
    public var sealPolicy: SealPolicy = .enforce
    /// Which output backend: auto (drm-dumb → udmabuf → dma-heap → memfd), none (memfd), or a device.
    public var outputDevice: OutputDeviceChoice = .automatic
    /// Compatibility: a buffer committed before the client acked an xdg_surface's first
    /// configure counts as acking it (the configure is sent with that commit if none was),
    /// instead of the unconfigured_buffer error. Off by default (xdg-shell: initial commit,
    /// configure, ack, then a buffer); the wlcs module turns it on because wlcs 1.5's helpers
    /// never ack, and some commit their first buffer with the role (fixed upstream in wlcs 1.8).
    public var implicitFirstConfigureAck = false
    /// Whether clients may capture the output (zwlr_export_dmabuf_manager_v1,
    /// zwlr_screencopy_manager_v1). Allowed by default: a headless compositor is only seen
    /// through capture. Denied, the globals are hidden from every client and cannot be bound.
    public var capture: CapturePolicy = .allow
    /// Whether clients may inject input (zwp_virtual_keyboard_manager_v1). Allowed by default:
    /// driving applications is what a headless compositor is run for. Denied, the globals are
    /// hidden from every client and cannot be bound (`--virtual-input`).
    public var virtualInput: VirtualInputPolicy = .allow
    /// The seat keyboard's keymap (`--keyboard-layout`); nil fields come from XKB_DEFAULT_*,
    /// then libxkbcommon's defaults (evdev rules, pc105, us).
    public var keymap = KeymapNames()
    /// What one client may make compositord hold (`--max-client-memory`, `--max-client-buffers`).
    public var clientLimits = ClientLimits()
    /// How long a committed dma-buf (or a screencopy target) may stay unready (its fences
    /// unsignalled) before its client gets an error: 1 s, 60 frame periods at 60 Hz. A GPU frame
    /// takes milliseconds; anything this late is a stuck or hostile fence. `--fence-deadline`.
    public var fenceDeadlineMs: Int32 = 1000
    /// How a dma-buf's fences are waited for (`--fence-wait`): snapshotted with
    /// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` where the kernel has it (6.0+), else by polling the
    /// dma-buf itself; `.pollDmabuf` always polls, as on older kernels (and tests that path).
    public var fenceWait: FenceWait = .auto

    public init() {}
}

/// `--fence-wait auto|poll-dmabuf` (docs/robustness/fences.md).
public enum FenceWait: String, Sendable, CaseIterable {
    case auto
    case pollDmabuf = "poll-dmabuf"
}


/// When compositord composites the output.
///
/// Headless, nothing scans the output out: its pixels are only ever seen through a consumer
/// (screencopy, export-dmabuf, a screenshot), and every consumer asks for a frame first. On
/// demand (the default), a vblank with no consumer waiting latches the clients' commits (frame
/// callbacks, presentation feedback and buffer releases go out as usual) and keeps the damage;
/// the next frame a consumer asks for, or a screenshot, composites all of it at once. The
/// surfaces' current buffers are not released, so that frame shows exactly what was latched.
/// Pools that could still shrink are checked at the latch instead of being read
/// (Server.checkLatchedPools), so a truncated pool is caught at the same vblank either way.
///
/// Every frame composites the damage at each vblank, as a display would need: for measuring the
/// cost of compositing, or for an embedder that reads the output buffer without asking.
public enum Compositing: String, Sendable, CaseIterable {
    case onDemand = "on-demand"
    case everyFrame = "every-frame"
}

/// Why the server could not start; each carries a message a human understands.
public enum ServerError: Error, CustomStringConvertible {
    case runtimeDirUnset
    case runtimeDirUnusable(path: String, reason: String)
    case socket(name: String?, reason: String)
    case output(String)
    case display
    case keymap(String)

    public var description: String {
        switch self {
        case .runtimeDirUnset:
            "XDG_RUNTIME_DIR is not set: it must name a private directory (e.g. /run/user/$UID) for the Wayland socket"
        case let .runtimeDirUnusable(path, reason):
            "XDG_RUNTIME_DIR=\(path) is unusable: \(reason)"
        case let .socket(name, reason):
            "cannot create the Wayland socket \(name ?? "wayland-N"): \(reason)"
        case let .output(reason):
            "cannot create the output: \(reason)"
        case .display:
            "wl_display_create failed"
        case let .keymap(reason):
            "cannot make the seat's keyboard: \(reason)"
        }
    }
}
