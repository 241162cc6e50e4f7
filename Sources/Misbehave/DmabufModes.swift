import ClientKit
import CWayland
import Glibc
import SystemPackage

/// The dma-buf modes (no device needed for most: a sealed memfd stands in for a dma-buf).
extension MisbehaviorRunner {
    // MARK: dma-buf modes

    /// The plane of a dma-buf mode: a real dma-buf, or a sealed memfd standing in for one.
    enum Plane {
        case dmabuf(DmaBuf)
        case memfd(AnonymousFile)

        var fd: Int32 {
            switch self {
            case let .dmabuf(buffer): return buffer.fileDescriptor.rawValue
            case let .memfd(file): return file.fileDescriptor.rawValue
            }
        }
        var size: Int {
            switch self {
            case let .dmabuf(buffer): return buffer.size
            case let .memfd(file): return file.size
            }
        }
        var stride: Int {
            if case let .dmabuf(buffer) = self { return buffer.stride }
            return MisbehaviorRunner.stride
        }
        var what: String {
            switch self {
            case let .dmabuf(buffer): return "\(buffer.size)-byte dma-buf from \(buffer.strategy)"
            case let .memfd(file): return "\(file.size)-byte sealed memfd"
            }
        }
        var isDmabuf: Bool {
            if case .dmabuf = self { return true }
            return false
        }
    }

    var xr24: UInt32 { DrmFormat.xrgb8888 }

    /// A 64x64 XRGB8888 dma-buf from `dmabufSource`, else a sealed memfd of 64 * 256 bytes.
    func plane() throws -> Plane {
        do {
            let buffer = try DmaBuf(width: Self.side, height: Self.side, strategy: dmabufSource)
            report("dmabuf-source: \(buffer.strategy)")
            return .dmabuf(buffer)
        } catch {
            report("dmabuf-source: memfd (a sealed memfd stands in for the dma-buf: \(error))")
            return .memfd(try sealedMemfd(size: Self.bufferSize))
        }
    }

    /// The factory, and a note when XR24/LINEAR is not advertised (the compositor would then
    /// rightly answer invalid_format before reaching the intended violation).
    func linuxDmabuf() throws -> (LinuxDmabuf, note: String) {
        let factory = try context.linuxDmabuf(timeout: timeout)
        let advertised = factory.supports(format: xr24, modifier: DrmModifier.linear)
        return (factory, advertised ? "" : "; XR24/LINEAR is NOT advertised, so this proves nothing")
    }

    /// After a tolerated dma-buf violation: render the demo pattern with ordinary shm buffers.
    func renderAfterDmabuf(_ toplevel: Toplevel, _ keep: AnyObject...) throws -> FrameLoop.Summary {
        let summary = try render(toplevel, ordinaryBuffers())
        withExtendedLifetime(keep) {}
        return summary
    }

    func dmabufOutOfBoundsPlane() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let plane = try plane()
        let stride = plane.stride
        // The buffer's last 4096 bytes lie past the end of the dma-buf.
        let offset = plane.size - stride * Self.side + 4096
        let params = DmabufParams(factory: factory)
        params.add(fd: plane.fd, plane: 0, offset: UInt32(offset), stride: UInt32(stride), modifier: DrmModifier.linear)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("added plane 0 at offset \(offset) with stride \(stride) for a 64x64 XR24 buffer, which ends at \(offset + stride * Self.side), past the \(plane.what), then create_immed\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufMissingPlane() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let params = DmabufParams(factory: factory)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("sent create_immed for a 64x64 XR24 buffer without adding a plane\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufNotADmabuf() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let memfd = try sealedMemfd(size: Self.bufferSize)
        let params = DmabufParams(factory: factory)
        params.add(fd: memfd.fileDescriptor.rawValue, plane: 0, offset: 0, stride: UInt32(Self.stride), modifier: DrmModifier.linear)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        say("added a \(memfd.size)-byte memfd sealed \(Self.hex(memfd.seals)) (not a dma-buf) as plane 0 of a 64x64 XR24 LINEAR buffer, then create_immed\(note)")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel, memfd)
    }

    func dmabufUnadvertisedModifier() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let factory = try context.linuxDmabuf(timeout: timeout)
        let candidates = [DrmModifier.intelXTiled, DrmModifier.invalid, 0x0200_0000_0000_0001, 0x00FF_FFFF_FFFF_FFFE]
        let modifier = candidates.first { !factory.supports(format: xr24, modifier: $0) }
        let plane = try plane()
        let params = DmabufParams(factory: factory)
        let chosen = modifier ?? DrmModifier.intelXTiled
        params.add(fd: plane.fd, plane: 0, offset: 0, stride: UInt32(plane.stride), modifier: chosen)
        let buffer = params.createImmediate(width: Int32(Self.side), height: Int32(Self.side), format: xr24)
        let note = modifier == nil ? ", which the compositor DOES advertise, so this proves nothing" : ", not advertised for XR24 (\(factory.formats.count) pairs advertised)"
        say("added plane 0 (the \(plane.what)) with modifier \(DrmModifier.name(chosen))\(note), then create_immed")
        try roundtrip()
        wl_buffer_destroy(buffer)
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }

    func dmabufReusedParams() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (factory, note) = try linuxDmabuf()
        let plane = try plane()
        let params = DmabufParams(factory: factory)
        params.add(fd: plane.fd, plane: 0, offset: 0, stride: UInt32(plane.stride), modifier: DrmModifier.linear)
        let width = Int32(Self.side), height = Int32(Self.side)
        var buffers: [OpaquePointer] = []
        if plane.isDmabuf {
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            say("sent create_immed twice on the same zwp_linux_buffer_params_v1 (plane: the \(plane.what))\(note)")
        } else {
            // A memfd fails the import: create_immed would end the client with invalid_wl_buffer
            // before the second request. create answers with a non-fatal failed event instead.
            params.create(width: width, height: height, format: xr24)
            try connection.wait(timeout: timeout) { params.state != .pending }
                .orThrow(waitingFor: "zwp_linux_buffer_params_v1.created or .failed")
            let answer: String
            switch params.state {
            case let .created(buffer): buffers.append(buffer); answer = "created"
            case .failed: answer = "failed"
            case .pending: answer = "nothing"
            }
            buffers.append(params.createImmediate(width: width, height: height, format: xr24))
            say("sent create on a zwp_linux_buffer_params_v1 (plane: the \(plane.what); answered '\(answer)'), then create_immed on the same params\(note)")
        }
        try roundtrip()
        buffers.forEach { wl_buffer_destroy($0) }
        params.destroy()
        return try renderAfterDmabuf(toplevel)
    }
}
