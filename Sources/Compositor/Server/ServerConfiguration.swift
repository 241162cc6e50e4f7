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
    /// The outputs (`--output`, repeatable), in order: HEADLESS-1, HEADLESS-2... Empty means one
    /// `width`×`height` output at `refreshHz`.
    public var outputs: [OutputConfiguration] = []
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

/// One output: `--output WxH[@HZ][,position=XxY][,scale=N][,transform=T]`.
public struct OutputConfiguration: Sendable, Equatable {
    /// The mode, in framebuffer pixels.
    public var width: Int32
    public var height: Int32
    /// Refresh in Hz; 0 renders on every commit.
    public var refreshHz: Double = 60
    /// Top-left corner in the layout; nil puts it right of the previous output, at y 0 (as
    /// wlroots' output layout does for outputs added without a position).
    public var position: (x: Int32, y: Int32)?
    /// wl_output.scale, 1 to 4.
    public var scale: Int32 = 1
    /// wl_output.transform: 0 normal, 1 90°, 2 180°, 3 270°, 4 flipped, 5 to 7 flipped and rotated.
    public var transform: Int32 = 0

    public init(width: Int32, height: Int32, refreshHz: Double = 60) {
        self.width = width
        self.height = height
        self.refreshHz = refreshHz
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.width == b.width && a.height == b.height && a.refreshHz == b.refreshHz && a.position?.x == b.position?.x
            && a.position?.y == b.position?.y && a.scale == b.scale && a.transform == b.transform
    }

    /// The names `transform=` takes, in wl_output.transform order (sway's spelling).
    public static let transformNames = ["normal", "90", "180", "270", "flipped", "flipped-90", "flipped-180", "flipped-270"]

    /// Parses `WxH[@HZ][,position=XxY][,scale=N][,transform=T]`, e.g.
    /// `1280x720@30,position=1920x0,scale=2,transform=90`.
    public init(parsing text: String) throws(OutputSyntaxError) {
        var fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let mode = fields.removeFirst()
        let (size, hz) = mode.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init).pair
        guard let (w, h) = Self.pair(size), (1...16384).contains(w), (1...16384).contains(h) else {
            throw OutputSyntaxError("\(text): the mode must be WxH[@HZ] with W and H from 1 to 16384 (e.g. 1280x720@30)")
        }
        self.init(width: w, height: h)
        if let hz {
            guard let r = Double(hz), r >= 0, r <= 1000 else { throw OutputSyntaxError("\(text): the refresh must be 0 to 1000 Hz") }
            refreshHz = r
        }
        for field in fields {
            let (key, value) = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init).pair
            switch (key, value) {
            case let ("position", value?):
                guard let (x, y) = Self.pair(value), x >= 0, y >= 0 else {
                    throw OutputSyntaxError("\(text): position must be XxY with X and Y at least 0 (e.g. position=1920x0)")
                }
                position = (x, y)
            case let ("scale", value?):
                guard let n = Int32(value), (1...4).contains(n) else { throw OutputSyntaxError("\(text): scale must be 1, 2, 3 or 4") }
                scale = n
            case let ("transform", value?):
                guard let t = Self.transformNames.firstIndex(of: value) else {
                    throw OutputSyntaxError("\(text): transform must be one of \(Self.transformNames.joined(separator: ", "))")
                }
                transform = Int32(t)
            default:
                throw OutputSyntaxError("\(text): unknown field \(field) (fields: position=XxY, scale=N, transform=T)")
            }
        }
    }

    private static func pair(_ s: String) -> (Int32, Int32)? {
        let parts = s.split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int32(parts[0]), let b = Int32(parts[1]) else { return nil }
        return (a, b)
    }
}

/// A `--output` value that does not parse; the message says what was expected.
public struct OutputSyntaxError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private extension Array where Element == String {
    /// The first element and the second if any ("a=b" split once).
    var pair: (String, String?) { (self.first ?? "", count > 1 ? self[1] : nil) }
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
