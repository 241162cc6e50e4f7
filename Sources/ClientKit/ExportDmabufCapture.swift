import CDRM
import CWayland
import Glibc
import SystemPackage

/// The bound `zwlr_export_dmabuf_manager_v1`.
final class ExportDmabufManager {
    let proxy: OpaquePointer

    init(proxy: OpaquePointer) {
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
        closeObjects()
        if let proxy { zwlr_export_dmabuf_frame_v1_destroy(proxy) }
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
    /// protocol asks once one of them arrived.
    func wait(connection: Connection, timeout: Duration?) throws {
        try connection.wait(timeout: timeout) { state != .pending }
            .orThrow(waitingFor: "zwlr_export_dmabuf_frame_v1 ready or cancel")
        if let proxy {
            zwlr_export_dmabuf_frame_v1_destroy(proxy)
            self.proxy = nil
        }
        if case let .cancelled(reason) = state {
            closeObjects()
            throw CaptureError.cancelled(reason)
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
        defer { munmap(memory, size) }

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
