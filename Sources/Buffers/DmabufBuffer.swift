import CDRM
import CWayland
import Glibc
import Syscalls
import SystemPackage

/// A single-plane linear dma-buf imported by mapping it for the CPU, as Smithay's pixman renderer
/// does: no GPU needed. Every read is bracketed by DMA_BUF_IOCTL_SYNC (START|READ … END|READ) so
/// the exporter can flush caches, and runs under the SIGBUS guard so a misbehaving exporter
/// cannot take the compositor down.
package final class DmabufBuffer: ClientBuffer {
    /// One plane as `zwp_linux_buffer_params_v1.add` described it.
    package struct Plane {
        package let fd: FileDescriptor
        package let offset: UInt32
        package let stride: UInt32
        package let modifier: UInt64

        package init(fd: FileDescriptor, offset: UInt32, stride: UInt32, modifier: UInt64) {
            self.fd = fd
            self.offset = offset
            self.stride = stride
            self.modifier = modifier
        }
    }

    package struct ImportFailure: Error, CustomStringConvertible {
        package let description: String
        package init(description: String) { self.description = description }
    }

    package let width: Int32, height: Int32
    package let format: PixelFormat
    /// The plane's dma-buf fd, owned by this buffer (closed with it), for readiness waits.
    private let fd: OwnedFD
    package var dmabufFd: Int32 { fd.rawValue }
    package var fenceFd: Int32? { fd.rawValue }
    /// The dma-buf mapped for reading, for the buffer's lifetime.
    private let mapping: Mapping
    private let guardRange: GuardedRange
    /// The writable mapping used when this buffer is a capture target (screencopy), made at the
    /// first capture and kept with the buffer; each write is still bracketed by DMA_BUF_IOCTL_SYNC.
    private let capture: WritableMapping
    private let view: PixmanView
    /// Plane 0's layout, for writers (screencopy into a client's dma-buf).
    package let planeOffset: Int
    package let planeStride: Int

    /// Takes ownership of the plane's fd (closed on failure too). The caller has validated the
    /// geometry against the fd's size (LinuxBufferParams).
    package init(plane: Plane, width: Int32, height: Int32, format: PixelFormat) throws(ImportFailure) {
        fd = OwnedFD(adopting: plane.fd.rawValue)  // closed on every way out, failures included
        let fsType = (try? Syscall.fileSystemType(plane.fd.rawValue)) ?? -1
        guard fsType == 0x444D_4142 else {  // DMA_BUF_MAGIC "DMAB"
            throw ImportFailure(description: "the plane fd is not a dma-buf (file system magic 0x\(String(fsType, radix: 16)))")
        }
        let size = Int((try? Syscall.lseek(plane.fd.rawValue, 0, SEEK_END)) ?? -1)
        let mapped: Mapping
        do throws(Errno) { mapped = try Mapping(fd: plane.fd.rawValue, length: size) } catch {
            throw ImportFailure(description: "cannot map the dma-buf for reading: \(error)")
        }
        guard GuardedRange.install() == 0 else {
            throw ImportFailure(description: "the SIGBUS guard cannot be installed")
        }
        let m = mapped.base
        mapping = mapped
        self.width = width
        self.height = height
        self.format = format
        guardRange = GuardedRange(address: m, length: size)
        capture = WritableMapping(fd: fd.rawValue)
        view = PixmanView(width: width, height: height, stride: Int32(plane.stride), offset: Int(plane.offset), format: format)
        planeOffset = Int(plane.offset)
        planeStride = Int(plane.stride)
    }

    /// Runs `body` with the writable mapping of the dma-buf (screencopy targets; made once, kept
    /// with the buffer), bracketed by
    /// DMA_BUF_IOCTL_SYNC START|WRITE … END|WRITE and guarded. False when the exporter refuses a
    /// writable mapping, the write faulted, or the buffer is not ready for writing right now (a
    /// fence not signalled: SYNC would wait for it, so nothing is written).
    package func write(_ body: (UnsafeMutableRawPointer) -> Void) -> Bool {
        guard DmabufReadiness.isReady(fd.rawValue, for: .write) else { return false }
        _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_START | CDRM_SYNC_WRITE)))
        defer { _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_END | CDRM_SYNC_WRITE))) }
        return capture.write(length: mapping.length, guarded: true, body)
    }

    package var hasAlpha: Bool { format.hasAlpha }

    package func withImage(_ body: (OpaquePointer) -> Void) -> BufferRead {
        var outcome = BufferRead.read
        // The commit waited for the fences it saw (Server.commitWhenReady); one added since would make
        // SYNC(START) sleep until it signals. The zero-timeout poll says whether one is pending:
        // then the pixels are read as they are, without the bracket, rather than wait.
        let synced = DmabufReadiness.isReady(fd.rawValue, for: .read)
        if synced { _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_START | CDRM_SYNC_READ))) }
        let ok = guardRange.read {
            guard let image = view.image(base: mapping.base) else { outcome = .unreadable; return }
            body(image)
        }
        if synced { _ = try? valueOrNegatedErrno(cdrm_dmabuf_sync(fd.rawValue, UInt64(CDRM_SYNC_END | CDRM_SYNC_READ))) }
        return ok ? outcome : .faulted
    }
}
