import CDRM
import CWayland
import Glibc
import SystemPackage

/// The bound `zwlr_export_dmabuf_manager_v1`.
final class ExportDmabufManager {
    let proxy: OpaquePointer
    /// Kept so the display outlives the proxy (OutputCapture may release its connection first).
    private let connection: Connection

    init(connection: Connection, proxy: OpaquePointer) {
        self.connection = connection
        self.proxy = proxy
    }

    deinit {
        zwlr_export_dmabuf_manager_v1_destroy(proxy)
    }
}

/// One `zwlr_export_dmabuf_frame_v1`: the compositor's description of its output buffer
/// (`frame`), one `object` per dma-buf (this object owns each descriptor received and closes it),
/// then `ready` or, at any point, `cancel`.
public final class ExportDmabufFrame: EventReceiver {
    public enum State: Sendable, Equatable {
        case pending
        case ready(CaptureTimestamp)
        case cancelled(CaptureCancelReason)
    }

    /// An `object` event: the descriptor stays owned by the frame, which closes it on deinit.
    public struct Object: Sendable {
        public var info: CapturedObject
        public var fileDescriptor: FileDescriptor
    }

    private var proxy: OpaquePointer?
    public private(set) var state: State = .pending
    /// Whether the `frame` event arrived.
    public private(set) var described = false
    public private(set) var width = 0, height = 0
    public private(set) var offsetX = 0, offsetY = 0
    /// linux-dmabuf buffer flags (1 y_invert, 2 interlaced, 4 bottom_first).
    public private(set) var bufferFlags: UInt32 = 0
    /// Frame flags (1 transient).
    public private(set) var flags: UInt32 = 0
    public private(set) var format: UInt32 = 0
    public private(set) var modifier: UInt64 = 0
    /// `num_objects` of the `frame` event.
    public private(set) var objectCount = 0
    /// The objects received, in arrival order.
    public private(set) var objects: [Object] = []
    /// Protocol oddities noticed (objects before `frame`, an index out of range...).
    public private(set) var problems: [String] = []

    /// Sends `capture_output(overlay_cursor, output)`.
    init(manager: ExportDmabufManager, output: Output, overlayCursor: Bool) {
        let proxy = zwlr_export_dmabuf_manager_v1_capture_output(manager.proxy, overlayCursor ? 1 : 0, output.proxy)!
        self.proxy = proxy
        routeEvents(of: proxy, to: self)
    }

    deinit {
        release()
    }

    /// Closes every descriptor received so far (also done on deinit).
    public func closeObjects() {
        for object in objects { try? object.fileDescriptor.close() }
        objects.removeAll()
    }

    func handleEvent(proxy: OpaquePointer, opcode: UInt32, arguments: EventArguments) {
        switch opcode {
        case 0: // frame(width, height, offset_x, offset_y, buffer_flags, flags, format, mod_high, mod_low, num_objects)
            described = true
            width = Int(arguments.uint(0))
            height = Int(arguments.uint(1))
            offsetX = Int(arguments.uint(2))
            offsetY = Int(arguments.uint(3))
            bufferFlags = arguments.uint(4)
            flags = arguments.uint(5)
            format = arguments.uint(6)
            modifier = UInt64(arguments.uint(7)) << 32 | UInt64(arguments.uint(8))
            objectCount = Int(arguments.uint(9))
        case 1: // object(index, fd, size, offset, stride, plane_index)
            let fd = arguments.fd(1)
            guard fd >= 0 else { return }
            if !described { problems.append("object before frame") }
            let info = CapturedObject(
                index: arguments.uint(0), size: Int(arguments.uint(2)), offset: Int(arguments.uint(3)),
                stride: Int(arguments.uint(4)), planeIndex: arguments.uint(5), filesystemType: cw_fs_type(fd))
            if described && Int(info.index) >= objectCount {
                problems.append("object index \(info.index) of a \(objectCount)-object frame")
            }
            objects.append(Object(info: info, fileDescriptor: FileDescriptor(rawValue: fd)))
        case 2: // ready(tv_sec_hi, tv_sec_lo, tv_nsec)
            state = .ready(CaptureTimestamp(secondsHigh: arguments.uint(0), secondsLow: arguments.uint(1), nanoseconds: arguments.uint(2)))
        case 3: // cancel(reason)
            state = .cancelled(CaptureCancelReason(rawValue: arguments.uint(0)))
        default:
            break
        }
    }

    /// Dispatches until `ready` or `cancel`. A cancel throws `CaptureError.cancelled` (the
    /// descriptors received are closed); the frame object is destroyed either way, as the
    /// protocol asks once one of them arrived, unless `keep` and the frame is ready: then it stays
    /// until `release()`, and the compositor keeps its buffer untouched meanwhile.
    func wait(connection: Connection, timeout: Duration?, keep: Bool = false) throws {
        try connection.wait(timeout: timeout) { state != .pending }
            .orThrow(waitingFor: "zwlr_export_dmabuf_frame_v1 ready or cancel")
        if case let .cancelled(reason) = state {
            release()
            throw CaptureError.cancelled(reason)
        }
        if !keep { destroyProxy() }
    }

    /// Whether the `zwlr_export_dmabuf_frame_v1` is still alive (a kept frame before `release()`).
    public var isHeld: Bool { proxy != nil }

    /// Sends `zwlr_export_dmabuf_frame_v1.destroy` (once) and closes the descriptors.
    public func release() {
        destroyProxy()
        closeObjects()
    }

    private func destroyProxy() {
        if let proxy {
            zwlr_export_dmabuf_frame_v1_destroy(proxy)
            self.proxy = nil
        }
    }

    /// Reads the frame (after `ready`): XR24 or AR24, LINEAR (or INVALID: implicit, as a dumb
    /// buffer's), from the object holding plane 0. Each object is mapped read-only and, when it
    /// is a dma-buf, read between `DMA_BUF_IOCTL_SYNC` START|READ and END|READ. Closes the
    /// descriptors afterwards.
    func capturedFrame() throws -> CapturedFrame {
        defer { closeObjects() }
        guard case let .ready(timestamp) = state else { throw CaptureError.badFrame("the frame is not ready") }
        guard described else { throw CaptureError.badFrame("ready without a frame event") }
        let infos = objects.map(\.info)
        let image = try readImage()
        return CapturedFrame(
            method: .exportDmabuf, format: format, modifier: modifier,
            isDmabuf: !infos.isEmpty && infos.allSatisfy(\.isDmabuf), yInverted: bufferFlags & 1 != 0,
            damage: [], objects: infos, exportFlags: flags, bufferFlags: bufferFlags,
            offsetX: offsetX, offsetY: offsetY, dmabufOffers: [], timestamp: timestamp, image: image)
    }

    /// The picture in plane 0 (see `capturedFrame`).
    public func readImage() throws -> CapturedImage {
        guard format == DrmFormat.xrgb8888 || format == DrmFormat.argb8888,
              modifier == DrmModifier.linear || modifier == DrmModifier.invalid else {
            throw CaptureError.unsupportedFormat(format: format, modifier: modifier)
        }
        guard let plane = objects.first(where: { $0.info.planeIndex == 0 }) else {
            throw CaptureError.badFrame("no object holds plane 0 (\(objects.count) of \(objectCount) objects received)")
        }
        return try Self.readXRGB8888(
            plane.fileDescriptor, object: plane.info, width: width, height: height, yInverted: bufferFlags & 1 != 0)
    }

    /// Maps `object` read-only and copies the image out of it, bracketing the read with
    /// `DMA_BUF_IOCTL_SYNC` when the descriptor is a dma-buf. The descriptor is not closed.
    public static func readXRGB8888(
        _ fd: FileDescriptor, object: CapturedObject, width: Int, height: Int, yInverted: Bool
    ) throws -> CapturedImage {
        let mapping = try ObjectMapping(fd, object: object)
        return try mapping.readXRGB8888(width: width, height: height, yInverted: yInverted)
    }
}

/// A read-only shared mapping of one exported object (its whole size), unmapped on deinit. The
/// descriptor is not owned.
final class ObjectMapping {
    let fileDescriptor: FileDescriptor
    let object: CapturedObject
    let memory: UnsafeMutableRawPointer
    let size: Int

    init(_ fd: FileDescriptor, object: CapturedObject) throws {
        var size = object.size
        if size == 0 {
            // Some compositors leave the size out: a dma-buf knows its own.
            let end = lseek(fd.rawValue, 0, SEEK_END)
            if end > 0 { size = Int(end) }
        }
        guard size > 0 else { throw CaptureError.badFrame("object \(object.index) has size 0") }
        guard let memory = mmap(nil, size, PROT_READ, MAP_SHARED, fd.rawValue, 0), memory != MAP_FAILED else {
            throw CaptureError.system(operation: "mmap of object \(object.index) (\(size) bytes)", errno: Glibc.errno)
        }
        fileDescriptor = fd
        self.object = object
        self.memory = memory
        self.size = size
    }

    deinit { munmap(memory, size) }

    /// The image's bytes as they lie in memory (`offset` up to the end of the last row's pixels,
    /// stride padding included), copied between `DMA_BUF_IOCTL_SYNC` START|READ and END|READ when
    /// the descriptor is a dma-buf.
    func copyBytes(width: Int, height: Int) throws -> [UInt8] {
        let (lastRow, overflow) = object.stride.multipliedReportingOverflow(by: max(height - 1, 0))
        let end = object.offset + lastRow + width * 4
        guard !overflow, width > 0, height > 0, object.offset >= 0, end <= size else {
            throw CaptureError.badFrame("object \(object.index): \(width)x\(height), stride \(object.stride), offset \(object.offset) does not fit \(size) bytes")
        }
        let sync = object.isDmabuf
        if sync {
            let result = cdrm_dmabuf_sync(fileDescriptor.rawValue, UInt64(CDRM_SYNC_START) | UInt64(CDRM_SYNC_READ))
            guard result == 0 else { throw CaptureError.system(operation: "DMA_BUF_IOCTL_SYNC(START|READ)", errno: -result) }
        }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: memory + object.offset, count: end - object.offset))
        if sync {
            let result = cdrm_dmabuf_sync(fileDescriptor.rawValue, UInt64(CDRM_SYNC_END) | UInt64(CDRM_SYNC_READ))
            guard result == 0 else { throw CaptureError.system(operation: "DMA_BUF_IOCTL_SYNC(END|READ)", errno: -result) }
        }
        return bytes
    }

    /// Copies the image out of the mapping, between `DMA_BUF_IOCTL_SYNC` START|READ and END|READ
    /// when the descriptor is a dma-buf.
    func readXRGB8888(width: Int, height: Int, yInverted: Bool) throws -> CapturedImage {
        let fd = fileDescriptor
        let sync = object.isDmabuf
        if sync {
            let result = cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_START) | UInt64(CDRM_SYNC_READ))
            guard result == 0 else { throw CaptureError.system(operation: "DMA_BUF_IOCTL_SYNC(START|READ)", errno: -result) }
        }
        let image: CapturedImage
        do {
            image = try CapturedImage(
                xrgb8888: UnsafeRawBufferPointer(start: memory, count: size), offset: object.offset,
                width: width, height: height, stride: object.stride, yInverted: yInverted)
        } catch {
            if sync { _ = cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_END) | UInt64(CDRM_SYNC_READ)) }
            throw CaptureError.badFrame("object \(object.index): \(error)")
        }
        if sync {
            let result = cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_END) | UInt64(CDRM_SYNC_READ))
            guard result == 0 else { throw CaptureError.system(operation: "DMA_BUF_IOCTL_SYNC(END|READ)", errno: -result) }
        }
        return image
    }
}

/// An exported frame kept alive (`OutputCapture.captureHeld`): its `zwlr_export_dmabuf_frame_v1`
/// is not destroyed, so the compositor must leave the buffer alone, and the plane-0 object stays
/// mapped so it can be read again (`reread()`) while the compositor goes on compositing.
/// `release()` (or deinit) unmaps, closes the descriptors and destroys the frame object.
/// Use it from the connection's thread.
public final class HeldExportedFrame {
    /// The frame as read right after `ready`.
    public let frame: CapturedFrame
    /// The plane-0 bytes as read right after `ready` (see `rereadBytes()`).
    public let bytes: [UInt8]
    public let connection: Connection
    private let export: ExportDmabufFrame
    private var mapping: ObjectMapping?

    init(frame export: ExportDmabufFrame, connection: Connection) throws {
        guard case let .ready(timestamp) = export.state else { throw CaptureError.badFrame("the frame is not ready") }
        guard export.described else { throw CaptureError.badFrame("ready without a frame event") }
        guard export.format == DrmFormat.xrgb8888 || export.format == DrmFormat.argb8888,
              export.modifier == DrmModifier.linear || export.modifier == DrmModifier.invalid else {
            throw CaptureError.unsupportedFormat(format: export.format, modifier: export.modifier)
        }
        guard let plane = export.objects.first(where: { $0.info.planeIndex == 0 }) else {
            throw CaptureError.badFrame("no object holds plane 0 (\(export.objects.count) of \(export.objectCount) objects received)")
        }
        let mapping = try ObjectMapping(plane.fileDescriptor, object: plane.info)
        let image = try mapping.readXRGB8888(width: export.width, height: export.height, yInverted: export.bufferFlags & 1 != 0)
        bytes = try mapping.copyBytes(width: export.width, height: export.height)
        let infos = export.objects.map(\.info)
        self.frame = CapturedFrame(
            method: .exportDmabuf, format: export.format, modifier: export.modifier,
            isDmabuf: !infos.isEmpty && infos.allSatisfy(\.isDmabuf), yInverted: export.bufferFlags & 1 != 0,
            damage: [], objects: infos, exportFlags: export.flags, bufferFlags: export.bufferFlags,
            offsetX: export.offsetX, offsetY: export.offsetY, dmabufOffers: [], timestamp: timestamp, image: image)
        self.connection = connection
        self.export = export
        self.mapping = mapping
    }

    deinit { release() }

    /// Whether `release()` has not been called yet.
    public var isHeld: Bool { mapping != nil }

    /// The plane-0 dma-buf (owned by the handle; valid until `release()`).
    public var fileDescriptor: FileDescriptor? { mapping?.fileDescriptor }

    /// Reads the held buffer again, from the same mapping (between `DMA_BUF_IOCTL_SYNC`
    /// START|READ and END|READ for a dma-buf). Throws `CaptureError.badFrame` after `release()`.
    public func reread() throws -> CapturedImage {
        guard let mapping else { throw CaptureError.badFrame("the held frame was released") }
        return try mapping.readXRGB8888(width: frame.width, height: frame.height, yInverted: frame.yInverted)
    }

    /// The plane-0 bytes again, raw, from the same mapping: from the object's offset to the end
    /// of the last row's pixels, stride padding and the X byte included (compare with `bytes`).
    public func rereadBytes() throws -> [UInt8] {
        guard let mapping else { throw CaptureError.badFrame("the held frame was released") }
        return try mapping.copyBytes(width: frame.width, height: frame.height)
    }

    /// Unmaps, closes the descriptors and destroys the `zwlr_export_dmabuf_frame_v1` (flushed at
    /// once), handing the buffer back to the compositor. Idempotent.
    public func release() {
        guard mapping != nil else { return }
        mapping = nil
        export.release()
        try? connection.flush()
    }
}
