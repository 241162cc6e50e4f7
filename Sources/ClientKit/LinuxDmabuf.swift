import CWayland
import Glibc
import SystemPackage

/// A `zwp_linux_dmabuf_feedback_v1` (version 4): the compositor's preferred device and tranches
/// of format + modifier pairs, read from its format table. Updated atomically at each `done`.
public final class DmabufFeedback: EventReceiver {
    public struct Tranche: Sendable, Equatable {
        /// `tranche_target_device` (a dev_t).
        public var targetDevice: UInt64?
        /// `tranche_flags` (1: scanout).
        public var flags: UInt32 = 0
        /// The pairs `tranche_formats` named, in order.
        public var formats: [DmabufFormat] = []
        /// Indices that named no table entry (a compositor bug).
        public var invalidIndices: [UInt16] = []
    }

    let proxy: OpaquePointer
    /// `main_device` (a dev_t).
    public private(set) var mainDevice: UInt64?
    /// The last `format_table` received.
    public private(set) var formatTable: DmabufFormatTable?
    /// The tranches as of the last `done`, most preferred first.
    public private(set) var tranches: [Tranche] = []
    /// How many `done` events arrived (0: the feedback is not complete yet).
    public private(set) var doneCount = 0
    /// What went wrong reading the feedback (unmappable table, indices out of range...).
    public private(set) var problems: [String] = []

    private var pendingTranches: [Tranche] = []
    private var currentTranche = Tranche()

    init(proxy: OpaquePointer) {
        self.proxy = proxy
        routeEvents(of: proxy, to: self)
    }

    deinit {
        zwp_linux_dmabuf_feedback_v1_destroy(proxy)
    }

    /// Every pair of every tranche.
    public var formats: Set<DmabufFormat> {
        Set(tranches.flatMap(\.formats))
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // done
            tranches = pendingTranches
            pendingTranches = []
            currentTranche = Tranche()
            doneCount += 1
        case 1: // format_table(fd, size)
            let fd = FileDescriptor(rawValue: arguments.fd(0))
            defer { try? fd.close() }
            do {
                formatTable = try DmabufFormatTable(fileDescriptor: fd, size: Int(arguments.uint(1)))
            } catch {
                problems.append("\(error)")
                formatTable = nil
            }
        case 2: // main_device(array dev_t)
            mainDevice = Self.deviceNumber(arguments.array(0))
        case 3: // tranche_done
            pendingTranches.append(currentTranche)
            currentTranche = Tranche()
        case 4: // tranche_target_device(array dev_t)
            currentTranche.targetDevice = Self.deviceNumber(arguments.array(0))
        case 5: // tranche_formats(array of u16 indices)
            guard let table = formatTable else {
                problems.append("tranche_formats before any format_table")
                return
            }
            let (formats, invalid) = table.resolve(trancheIndices: arguments.array(0))
            currentTranche.formats += formats
            currentTranche.invalidIndices += invalid
            if !invalid.isEmpty {
                problems.append("tranche_formats names indices \(invalid) of a \(table.entries.count)-entry table")
            }
        case 6: // tranche_flags
            currentTranche.flags = arguments.uint(0)
        default:
            break
        }
    }

    static func deviceNumber(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == MemoryLayout<dev_t>.size else { return nil }
        return bytes.withUnsafeBytes { UInt64($0.loadUnaligned(as: dev_t.self)) }
    }
}

/// The bound `zwp_linux_dmabuf_v1` global: what the compositor imports, and the factory of
/// `zwp_linux_buffer_params_v1`. Get it with `ClientContext.linuxDmabuf()`.
public final class LinuxDmabuf: EventReceiver {
    public let connection: Connection
    let proxy: OpaquePointer
    public let version: UInt32
    /// `format` events (versions 1 to 3; compositors must not send them at 4).
    public private(set) var formatEvents: Set<UInt32> = []
    /// `modifier` events (version 3; not sent at 4).
    public private(set) var modifierEvents: Set<DmabufFormat> = []
    /// `get_default_feedback` (version 4), complete once `LinuxDmabuf` is handed out.
    public private(set) var defaultFeedback: DmabufFeedback?

    init(connection: Connection, proxy: OpaquePointer, version: UInt32) {
        self.connection = connection
        self.proxy = proxy
        self.version = version
        routeEvents(of: proxy, to: self)
    }

    deinit {
        defaultFeedback = nil // its destroy request goes before the factory's
        zwp_linux_dmabuf_v1_destroy(proxy)
    }

    /// Collects what the compositor supports: one roundtrip for the `format`/`modifier` events
    /// (versions 1 to 3); at version 4 the default feedback, until its first `done`.
    func collectFormats(timeout: Duration?) throws {
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: "zwp_linux_dmabuf_v1 formats")
        guard version >= 4 else { return }
        let feedback = DmabufFeedback(proxy: zwp_linux_dmabuf_v1_get_default_feedback(proxy))
        defaultFeedback = feedback
        try connection.wait(timeout: timeout) { feedback.doneCount > 0 }
            .orThrow(waitingFor: "the default dma-buf feedback")
    }

    /// The pairs the compositor advertised: the default feedback's tranches at version 4, the
    /// `modifier` events at 3. At 1 and 2 only formats are known: each `format` event appears
    /// with `DrmModifier.invalid` (an implicit modifier).
    public var formats: Set<DmabufFormat> {
        if let defaultFeedback { return defaultFeedback.formats }
        if version >= 3 { return modifierEvents }
        return Set(formatEvents.map { DmabufFormat(format: $0, modifier: DrmModifier.invalid) })
    }

    /// Whether a buffer of `format` with `modifier` was advertised. Before version 3 there were
    /// no modifiers to advertise, so only the format counts.
    public func supports(format: UInt32, modifier: UInt64) -> Bool {
        if defaultFeedback == nil && version < 3 { return formatEvents.contains(format) }
        return formats.contains(DmabufFormat(format: format, modifier: modifier))
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // format(format)
            formatEvents.insert(arguments.uint(0))
        case 1: // modifier(format, modifier_hi, modifier_lo)
            let modifier = UInt64(arguments.uint(1)) << 32 | UInt64(arguments.uint(2))
            modifierEvents.insert(DmabufFormat(format: arguments.uint(0), modifier: modifier))
        default:
            break
        }
    }
}

/// A `zwp_linux_buffer_params_v1`, raw: ClientKit's own buffers go through `DmaBuffer`, the
/// misbehaviour modes use it directly.
public final class DmabufParams: EventReceiver {
    public enum State: Equatable {
        case pending
        /// `created`: the `wl_buffer` proxy libwayland made for the event.
        case created(OpaquePointer)
        case failed
    }

    public let factory: LinuxDmabuf
    public let proxy: OpaquePointer
    public private(set) var state = State.pending
    private var destroyed = false

    public init(factory: LinuxDmabuf) {
        self.factory = factory
        proxy = zwp_linux_dmabuf_v1_create_params(factory.proxy)
        routeEvents(of: proxy, to: self)
    }

    deinit { destroy() }

    /// Sends `destroy` (legal at any time; the buffer made stays). Idempotent.
    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        zwp_linux_buffer_params_v1_destroy(proxy)
    }

    /// `add`: libwayland dups `fd` while sending; the caller keeps its own.
    public func add(fd: Int32, plane: UInt32, offset: UInt32, stride: UInt32, modifier: UInt64) {
        zwp_linux_buffer_params_v1_add(proxy, fd, plane, offset, stride,
                                       UInt32(truncatingIfNeeded: modifier >> 32), UInt32(truncatingIfNeeded: modifier))
    }

    /// `create_immed` (version 2): the new `wl_buffer` proxy, usable at once.
    public func createImmediate(width: Int32, height: Int32, format: UInt32, flags: UInt32 = 0) -> OpaquePointer {
        zwp_linux_buffer_params_v1_create_immed(proxy, width, height, format, flags)
    }

    /// `create`: the answer is a `created` or `failed` event.
    public func create(width: Int32, height: Int32, format: UInt32, flags: UInt32 = 0) {
        zwp_linux_buffer_params_v1_create(proxy, width, height, format, flags)
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // created(new_id wl_buffer)
            if let buffer = arguments.object(0) { state = .created(buffer) }
        case 1: // failed
            state = .failed
        default:
            break
        }
    }
}

/// A `wl_buffer` over a `DmaBuf`, made through `zwp_linux_dmabuf_v1`.
///
/// Busy from the commit that attaches it until `wl_buffer.release`, like every `WaylandBuffer`.
/// Draw with `withMutablePixels` (or `DemoPattern.draw(into:frame:)`), which brackets the writes
/// with `DMA_BUF_IOCTL_SYNC`.
public final class DmaBuffer: WaylandBuffer {
    /// Which request makes the `wl_buffer`.
    public enum Creation: String, Sendable, CaseIterable {
        /// `create_immed` (version 2): the buffer exists at once; an import failure is a fatal
        /// protocol error (or, at the compositor's choice, a `failed` event).
        case immediate = "immed"
        /// `create`: waits for `created` (the buffer) or `failed` (`DmaBufferError.importFailed`).
        case async
    }

    public let linuxDmabuf: LinuxDmabuf
    /// The memory (its descriptor, mapping and device).
    public let dmabuf: DmaBuf

    /// Imports `dmabuf` as plane 0 (its offset, stride and modifier) of a `width` x `height`
    /// buffer of its format. Throws `DmaBufferError.notAdvertised` without sending anything if
    /// the compositor did not advertise the format + modifier pair; with `.async`, throws
    /// `.importFailed` on `failed`, or `ClientError.timedOut` / `.interrupted`.
    public init(linuxDmabuf: LinuxDmabuf, dmabuf: DmaBuf, creation: Creation = .immediate, timeout: Duration? = nil) throws {
        guard linuxDmabuf.supports(format: dmabuf.format, modifier: dmabuf.modifier) else {
            throw DmaBufferError.notAdvertised(DmabufFormat(format: dmabuf.format, modifier: dmabuf.modifier),
                                               advertised: linuxDmabuf.formats.sorted { $0.description < $1.description })
        }
        guard creation == .async || linuxDmabuf.version >= 2 else {
            throw ClientError.missingGlobal(interface: "zwp_linux_dmabuf_v1", minimumVersion: 2)
        }
        let params = DmabufParams(factory: linuxDmabuf)
        defer { params.destroy() }
        params.add(fd: dmabuf.fileDescriptor.rawValue, plane: 0, offset: UInt32(dmabuf.offset), stride: UInt32(dmabuf.stride),
                   modifier: dmabuf.modifier)
        let width = Int32(dmabuf.width), height = Int32(dmabuf.height)
        let proxy: OpaquePointer
        switch creation {
        case .immediate:
            proxy = params.createImmediate(width: width, height: height, format: dmabuf.format)
        case .async:
            params.create(width: width, height: height, format: dmabuf.format)
            try linuxDmabuf.connection.wait(timeout: timeout) { params.state != .pending }
                .orThrow(waitingFor: "zwp_linux_buffer_params_v1.created or .failed")
            guard case let .created(buffer) = params.state else {
                throw DmaBufferError.importFailed(DmabufFormat(format: dmabuf.format, modifier: dmabuf.modifier),
                                                  width: dmabuf.width, height: dmabuf.height, strategy: dmabuf.strategy)
            }
            proxy = buffer
        }
        self.linuxDmabuf = linuxDmabuf
        self.dmabuf = dmabuf
        super.init(proxy: proxy, width: dmabuf.width, height: dmabuf.height, stride: dmabuf.stride)
    }

    /// The DRM format (`DrmFormat.xrgb8888`).
    public var format: UInt32 { dmabuf.format }

    override var cpuPixels: UnsafeMutablePointer<UInt32> {
        (dmabuf.memory + dmabuf.offset).bindMemory(to: UInt32.self, capacity: stride / 4 * height)
    }

    override func beginCPUWrite() throws { try dmabuf.beginCPUAccess(.write) }
    override func endCPUWrite() throws { try dmabuf.endCPUAccess(.write) }
}

/// Why a dma-buf did not become a `wl_buffer`.
public enum DmaBufferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The compositor did not advertise the pair (nothing was sent).
    case notAdvertised(DmabufFormat, advertised: [DmabufFormat])
    /// `zwp_linux_buffer_params_v1.failed`: the compositor could not import the dma-buf.
    case importFailed(DmabufFormat, width: Int, height: Int, strategy: DmaBuf.Strategy)

    public var description: String {
        switch self {
        case let .notAdvertised(pair, advertised):
            let list = advertised.isEmpty ? "nothing" : advertised.map(\.description).joined(separator: ", ")
            return "the compositor does not advertise \(pair) for dma-bufs (it advertises \(list))"
        case let .importFailed(pair, width, height, strategy):
            return "the compositor could not import a \(width)x\(height) \(pair) dma-buf from \(strategy) (zwp_linux_buffer_params_v1.failed)"
        }
    }
}

extension BufferSet where Buffer == DmaBuffer {
    /// `count` dma-buf buffers of `width` x `height` XRGB8888, linear. The first allocation runs
    /// `strategy` (the whole chain for `.automatic`); the others use the strategy that worked.
    /// Checks the format + modifier pair against what the compositor advertised before allocating.
    public convenience init(
        linuxDmabuf: LinuxDmabuf, width: Int, height: Int, count: Int = 2,
        strategy: DmaBuf.Strategy = .automatic, options: DmaBuf.Options = DmaBuf.Options(),
        creation: DmaBuffer.Creation = .immediate, timeout: Duration? = nil
    ) throws {
        precondition(width > 0 && height > 0 && count >= 1, "invalid buffer set")
        let pair = DmabufFormat(format: DrmFormat.xrgb8888, modifier: DrmModifier.linear)
        guard linuxDmabuf.supports(format: pair.format, modifier: pair.modifier) else {
            throw DmaBufferError.notAdvertised(pair, advertised: linuxDmabuf.formats.sorted { $0.description < $1.description })
        }
        var buffers: [DmaBuffer] = []
        var used = strategy
        for _ in 0..<count {
            let dmabuf = try DmaBuf(width: width, height: height, strategy: used, options: options)
            used = dmabuf.strategy
            buffers.append(try DmaBuffer(linuxDmabuf: linuxDmabuf, dmabuf: dmabuf, creation: creation, timeout: timeout))
        }
        self.init(connection: linuxDmabuf.connection, buffers: buffers)
    }

    /// The strategy that made the dma-bufs.
    public var dmabufStrategy: DmaBuf.Strategy { buffers[0].dmabuf.strategy }
}
