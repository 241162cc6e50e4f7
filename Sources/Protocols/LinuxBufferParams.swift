import Buffers
import CWayland
import Glibc
import SystemPackage
import SurfaceModel
import SceneGraph
import Outputs
import WaylandCore
import Syscalls

/// `zwp_linux_buffer_params_v1`: collects planes, validates them with the spec's error codes, and
/// imports the dma-buf (`create` → created/failed, `create_immed` → a wl_buffer or
/// invalid_wl_buffer).
package final class LinuxBufferParams: ResourceHandler {
    private let state: LinuxDmabufState
    private let resource: OpaquePointer
    /// The planes added so far; their fds are owned here (`AddedPlane`) and closed when the
    /// planes go (the object destroyed, or a create done with them) unless the import took one.
    private var planes: [UInt32: AddedPlane] = [:]
    private var used = false

    package init(state: LinuxDmabufState, resource: OpaquePointer) {
        self.state = state
        self.resource = resource
    }

    package func handle(_ request: Request) {
        switch ZwpLinuxBufferParamsV1Request(request) {
        case .destroy?:
            wl_resource_destroy(request.resource)
        case let .add(fd, planeIdx, offset, stride, modifierHi, modifierLo)?:
            guard state.context.admitsReceived(request, fd: fd) else { return }  // near the fd limit (FdBudget), which closed it
            add(OwnedFD(adopting: fd), index: planeIdx, offset: offset, stride: stride,  // ours from here on
                modifier: UInt64(modifierHi) << 32 | UInt64(modifierLo))
        case let .create(width, height, format, flags)?:
            create(width: width, height: height, format: format, flags: flags, id: nil)
        case let .createImmed(bufferId, width, height, format, flags)?:
            create(width: width, height: height, format: format, flags: flags, id: bufferId)
        case nil: break
        }
    }

    private func fail(_ code: zwp_linux_buffer_params_v1_error, _ message: String) {
        state.context.postError(resource, code: code.rawValue, message)
    }

    /// `add`: the plane is kept, or refused (its fd closed as `fd` goes).
    private func add(_ fd: consuming OwnedFD, index: UInt32, offset: UInt32, stride: UInt32, modifier: UInt64) {
        guard !used else {
            return fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used by create or create_immed")
        }
        guard index < 4 else {
            return fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_IDX, "plane index \(index) is not below 4")
        }
        guard planes[index] == nil else {
            return fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_PLANE_SET, "plane \(index) was already added")
        }
        planes[index] = AddedPlane(fd: fd, offset: offset, stride: stride, modifier: modifier)
    }

    /// Checks in the order the spec lists them; on success returns the format and the plane.
    private func validate(width: Int32, height: Int32, format fourcc: UInt32) -> (PixelFormat, AddedPlane)? {
        guard !planes.isEmpty else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE, "no planes were added"); return nil
        }
        let indices = planes.keys.sorted()
        guard indices == Array(0..<UInt32(indices.count)) else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE, "planes \(indices) leave a gap"); return nil
        }
        let modifiers = Set(planes.values.map(\.modifier))
        guard modifiers.count == 1, let modifier = modifiers.first else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT, "planes carry different modifiers"); return nil
        }
        guard let format = PixelFormat.drm(fourcc), state.formats.contains(format: fourcc, modifier: modifier) else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_FORMAT,
                 "format 0x\(String(fourcc, radix: 16)) with modifier 0x\(String(modifier, radix: 16)) was not advertised (only linear single-plane formats)")
            return nil
        }
        guard indices.count == 1, let plane = planes[0] else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INCOMPLETE, "\(format) has 1 plane, \(indices.count) were added"); return nil
        }
        guard width > 0, height > 0 else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_DIMENSIONS, "size \(width)x\(height) is not positive"); return nil
        }
        // A plane that is neither a dma-buf nor shared memory is not measured (lseek(SEEK_END) on
        // FUSE asks the client's daemon, which need never answer): the import refuses it.
        guard ReceivedFd.isDmabuf(plane.fd) || ReceivedFd.isSharedMemory(plane.fd) else { return (format, plane) }
        // 64-bit arithmetic: offset + stride × (height − 1) + width × bpp must lie in the fd.
        let size = Int64((try? Syscall.lseek(plane.fd, 0, SEEK_END)) ?? -1)
        let rowBytes = Int64(width) * Int64(format.bytesPerPixel)
        let end = Int64(plane.offset) + Int64(plane.stride) * (Int64(height) - 1) + rowBytes
        guard Int64(plane.stride) >= rowBytes, size >= 0, end <= size else {
            fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_OUT_OF_BOUNDS,
                 "plane 0 (offset \(plane.offset), stride \(plane.stride)) needs \(end) bytes for \(width)x\(height) \(format), the fd has \(size)")
            return nil
        }
        return (format, plane)
    }

    private func create(width: Int32, height: Int32, format fourcc: UInt32, flags: UInt32, id: UInt32?) {
        guard !used else {
            return fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_ALREADY_USED, "params already used by create or create_immed")
        }
        used = true
        guard let (format, plane) = validate(width: width, height: height, format: fourcc) else { return }
        // The planes go with this import: the import takes plane 0's fd, any refusal closes it.
        defer { planes = [:] }
        do throws(DmabufBuffer.ImportFailure) {
            // y_invert and interlaced content would need renderer support; refuse them cleanly.
            guard flags == 0 else {
                throw DmabufBuffer.ImportFailure(description: "flags 0x\(String(flags, radix: 16)) (y_invert/interlaced) are not supported")
            }
            guard ReceivedFd.isDmabuf(plane.fd) else {
                let file = PoolFile.classify(fd: plane.fd)  // asks no file system that is not shared memory
                throw DmabufBuffer.ImportFailure(description: "the plane fd is a \(file.typeName), not a dma-buf")
            }
            // --max-client-memory and --max-client-buffers, before anything is mapped: the size of
            // a dma-buf comes from its exporter (lseek), no page of it is touched.
            let client = wl_resource_get_client(resource)!
            guard let charge = chargeImport(client: client, fd: plane.fd, immediate: id != nil) else { return }
            let contents = try DmabufBuffer(plane: plane.take(), width: width, height: height, format: format)
            guard let buffer = Resources.create(client: client, interface: cw_wl_buffer_interface(),
                                                version: 1, id: id ?? 0, handler: { r in WlBuffer(resource: r, contents: contents) }) else { return }
            state.context.usage(of: client)?.hold(charge, until: buffer)
            if id == nil { zwp_linux_buffer_params_v1_send_created(resource, buffer) }
        } catch {
            state.context.logger.warning("dma-buf import failed", metadata: [
                "client": "\(state.context.describe(wl_resource_get_client(resource)))", "reason": "\(error.description)",
            ])
            if id == nil {
                zwp_linux_buffer_params_v1_send_failed(resource)
            } else {
                fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER, "dma-buf import failed: \(error.description)")
            }
        }
    }

    /// The dma-buf's size and one object on its client's limits. On refusal the refusal is
    /// counted and logged, and the import fails: `failed` for `create`, invalid_wl_buffer with the
    /// reason for `create_immed`; nil then (and the plane's fd is closed with the planes).
    private func chargeImport(client: OpaquePointer, fd: Int32, immediate: Bool) -> Charge? {
        let size = max(Int((try? Syscall.lseek(fd, 0, SEEK_END)) ?? 0), 0)
        guard let usage = state.context.usage(of: client) else { return nil }
        do throws(ClientUsage.Refusal) {
            return try usage.charge(bytes: size, objects: 1)
        } catch {
            let message = error.message(what: "this dma-buf")
            state.context.recordLimitRefusal(client, error, message: message)
            if immediate {
                fail(ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER, message)
            } else {
                zwp_linux_buffer_params_v1_send_failed(resource)
            }
            return nil
        }
    }

    package func resourceDestroyed() { planes = [:] }  // closes the planes' fds
}

/// A plane as `add` described it, with its fd owned (`OwnedFD`): closed when the plane goes,
/// whatever the way out, unless the import takes it, so no failure path closes it by hand.
private final class AddedPlane {
    private var owned: OwnedFD?
    let offset: UInt32
    let stride: UInt32
    let modifier: UInt64

    init(fd: consuming OwnedFD, offset: UInt32, stride: UInt32, modifier: UInt64) {
        owned = consume fd
        self.offset = offset
        self.stride = stride
        self.modifier = modifier
    }

    /// The fd, for checks while the plane owns it (-1 once the import took it).
    var fd: Int32 { owned?.rawValue ?? -1 }

    /// The plane for the import, which owns its fd from then on (`DmabufBuffer` closes it, on
    /// failure too).
    func take() -> DmabufBuffer.Plane {
        DmabufBuffer.Plane(fd: FileDescriptor(rawValue: owned.take()?.release() ?? -1), offset: offset, stride: stride, modifier: modifier)
    }
}
