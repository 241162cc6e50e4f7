import CWayland

/// One mode of a `wl_output` (`wl_output.mode`).
public struct OutputMode: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    /// Refresh rate in mHz (0: unknown).
    public var refreshMilliHz: Int
    /// `wl_output.mode` flags: 1 current, 2 preferred.
    public var flags: UInt32

    public init(width: Int, height: Int, refreshMilliHz: Int, flags: UInt32) {
        self.width = width
        self.height = height
        self.refreshMilliHz = refreshMilliHz
        self.flags = flags
    }

    public var isCurrent: Bool { flags & 1 != 0 }
    public var isPreferred: Bool { flags & 2 != 0 }

    /// "640x480@60.000Hz".
    public var description: String {
        let milli = String(refreshMilliHz % 1000)
        return "\(width)x\(height)@\(refreshMilliHz / 1000).\(String(repeating: "0", count: 3 - milli.count))\(milli)Hz"
    }
}

/// What `zxdg_output_v1` says about an output: where it sits in the compositor's global
/// (logical) space, and (version 2 and later) its name and description.
public struct LogicalOutput: Sendable, Equatable {
    public var x: Int = 0
    public var y: Int = 0
    public var width: Int = 0
    public var height: Int = 0
    /// `zxdg_output_v1.name` (version 2 and later; deprecated at 3 in favour of `wl_output.name`).
    public var name: String?
    public var description: String?

    public init() {}
}

/// A bound `wl_output` (up to version 4), with what it announced, and its `zxdg_output_v1` when
/// the compositor offers `zxdg_output_manager_v1`. Get them with `OutputList`.
public final class Output: EventReceiver {
    public let connection: Connection
    /// The global's name in the registry (what `wl_registry.global_remove` would name).
    public let globalName: UInt32
    /// The `wl_output` version bound.
    public let version: UInt32
    let proxy: OpaquePointer
    private var xdgProxy: OpaquePointer?

    /// `wl_output.name` (version 4), e.g. "HEADLESS-1".
    public private(set) var name: String?
    /// `wl_output.description` (version 4).
    public private(set) var description: String?
    /// `wl_output.geometry`.
    public private(set) var x = 0, y = 0
    public private(set) var physicalWidthMM = 0, physicalHeightMM = 0
    public private(set) var subpixel: Int32 = 0
    public private(set) var make = "", model = ""
    public private(set) var transform: Int32 = 0
    /// `wl_output.scale` (version 2; 1 until sent).
    public private(set) var scale: Int32 = 1
    /// Every mode announced, in order (a mode announced again replaces the earlier entry).
    public private(set) var modes: [OutputMode] = []
    /// How many `wl_output.done` events arrived (version 2 and later).
    public private(set) var doneCount = 0
    /// From `zxdg_output_v1`, nil without `zxdg_output_manager_v1`.
    public private(set) var logical: LogicalOutput?
    /// `zxdg_output_v1.done` events (versions 1 and 2; at 3 `wl_output.done` ends a batch).
    public private(set) var xdgDoneCount = 0

    init(connection: Connection, global: Global, proxy: OpaquePointer, version: UInt32) {
        self.connection = connection
        self.globalName = global.name
        self.proxy = proxy
        self.version = version
        routeEvents(of: proxy, to: self)
    }

    deinit {
        if let xdgProxy { zxdg_output_v1_destroy(xdgProxy) }
        if version >= 3 { wl_output_release(proxy) } else { wl_output_destroy(proxy) }
    }

    /// Whether `proxy` is this output's wl_output (as `Surface.outputEvents` names outputs).
    public func isProxy(_ proxy: OpaquePointer) -> Bool { self.proxy == proxy }

    /// The mode flagged current, else the last one announced.
    public var currentMode: OutputMode? {
        modes.last { $0.isCurrent } ?? modes.last
    }

    /// Creates the output's `zxdg_output_v1` (once).
    func attachXdgOutput(manager: OpaquePointer) {
        guard xdgProxy == nil, let xdg = zxdg_output_manager_v1_get_xdg_output(manager, proxy) else { return }
        xdgProxy = xdg
        logical = LogicalOutput()
        routeEvents(of: xdg, to: self)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        if proxy == xdgProxy {
            handleXdgEvent(opcode: opcode, arguments: arguments)
            return
        }
        switch opcode {
        case 0: // geometry(x, y, physical_width, physical_height, subpixel, make, model, transform)
            x = Int(arguments.int(0))
            y = Int(arguments.int(1))
            physicalWidthMM = Int(arguments.int(2))
            physicalHeightMM = Int(arguments.int(3))
            subpixel = arguments.int(4)
            make = arguments.string(5)
            model = arguments.string(6)
            transform = arguments.int(7)
        case 1: // mode(flags, width, height, refresh)
            let mode = OutputMode(width: Int(arguments.int(1)), height: Int(arguments.int(2)),
                                  refreshMilliHz: Int(arguments.int(3)), flags: arguments.uint(0))
            if mode.isCurrent {
                for index in modes.indices { modes[index].flags &= ~1 }
            }
            modes.removeAll { $0.width == mode.width && $0.height == mode.height && $0.refreshMilliHz == mode.refreshMilliHz }
            modes.append(mode)
        case 2: doneCount += 1
        case 3: scale = arguments.int(0)
        case 4: name = arguments.string(0)
        case 5: description = arguments.string(0)
        default: break
        }
    }

    private func handleXdgEvent(opcode: UInt32, arguments: EventArguments) {
        var info = logical ?? LogicalOutput()
        switch opcode {
        case 0: info.x = Int(arguments.int(0)); info.y = Int(arguments.int(1))          // logical_position
        case 1: info.width = Int(arguments.int(0)); info.height = Int(arguments.int(1)) // logical_size
        case 2: xdgDoneCount += 1                                                          // done
        case 3: info.name = arguments.string(0)                                            // name (v2)
        case 4: info.description = arguments.string(0)                                     // description (v2)
        default: break
        }
        logical = info
    }
}

/// Every `wl_output` the compositor advertises, bound (version up to 4), with their
/// `zxdg_output_v1` when `zxdg_output_manager_v1` is offered (version up to 3). Outputs that
/// appear later are not tracked.
public final class OutputList {
    public let connection: Connection
    /// In advertisement order.
    public let outputs: [Output]
    /// The `zxdg_output_manager_v1` version bound; nil when the compositor does not offer it.
    public let xdgOutputManagerVersion: UInt32?
    private let xdgManager: OpaquePointer?

    /// Binds every `wl_output` of `registry` (which must already hold the globals) and the
    /// xdg-output manager, then one roundtrip collects what they announce.
    public init(registry: Registry, timeout: Duration? = nil) throws {
        connection = registry.connection
        var bound: [Output] = []
        for global in registry.globals where global.interface == "wl_output" {
            let (proxy, version) = try registry.bind(global, table: cw_wl_output_interface(), maxVersion: 4)
            bound.append(Output(connection: connection, global: global, proxy: proxy, version: version))
        }
        outputs = bound
        if registry.global("zxdg_output_manager_v1") != nil {
            let manager = try registry.bind("zxdg_output_manager_v1", table: cw_zxdg_output_manager_v1_interface(), maxVersion: 3)
            xdgManager = manager.proxy
            xdgOutputManagerVersion = manager.version
            for output in bound { output.attachXdgOutput(manager: manager.proxy) }
        } else {
            xdgManager = nil
            xdgOutputManagerVersion = nil
        }
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "wl_output events")
    }

    deinit {
        // Objects already made from the manager stay usable after its destroy.
        if let xdgManager { zxdg_output_manager_v1_destroy(xdgManager) }
    }

    public var first: Output? { outputs.first }
}
