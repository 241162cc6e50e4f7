import ClientKit
import CWayland
import Glibc
import SystemPackage

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// The steps of each mode. Raw requests go through the module's internals, where ClientKit's
/// safe types would refuse to send them.
struct MisbehaviorRunner {
    let mode: Misbehavior
    let context: ClientContext
    let frames: Int
    let width: Int
    let height: Int
    let anonymousFile: AnonymousFile.Strategy
    let dmabufSource: DmaBuf.Strategy
    let timeout: Duration?
    let report: (String) -> Void

    /// Misbehaving pools hold 64x64 XRGB8888 buffers.
    static let side = 64
    static let stride = 256
    static let bufferSize = stride * side
    /// How long to wait for a frame the compositor might never complete.
    static let frameGrace = Duration.seconds(5)

    var shm: Shm { context.shm }
    var connection: Connection { context.connection }

    func say(_ what: String) { report("misbehave \(mode.rawValue): \(what)") }

    func run() throws -> FrameLoop.Summary? {
        switch mode {
        case .attachBeforeConfigure: return try attachBeforeConfigure()
        case .destroyOrderings: try destroyOrderings(); return nil
        case .unsealedMemfd: return try memfdWithoutSeals(allowSealing: true)
        case .unsealableMemfd: return try memfdWithoutSeals(allowSealing: false)
        case .diskFile: return try diskFile()
        case .fusePool: return try fusePool()
        case .truncateAfterCommit: return try truncateAfterCommit()
        case .truncateCaptureTarget: return try truncateCaptureTarget()
        case .poolLargerThanFile: return try poolLargerThanFile()
        case .resizeBeyondFile: return try resizeBeyondFile()
        case .shrinkPool: return try shrinkPool()
        case .strideTooSmall:
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 64 * 4 - 4, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 XRGB8888 buffer with stride 252 (needs at least 256)")
        case .strideUnaligned:
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 64 * 4 + 1, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 XRGB8888 buffer with stride 257 (not a multiple of 4)")
        case .offsetOutOfBounds:
            let poolSize = 2 * Self.bufferSize
            return try badBuffer(offset: Int32(poolSize - 4), width: 64, height: 64, stride: 256, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 64x64 buffer (16384 bytes) at offset \(poolSize - 4) of a \(poolSize)-byte pool")
        case .sizeOverflow:
            return try badBuffer(offset: 0, width: 65536, height: 65536, stride: 262144, format: ShmFormat.xrgb8888.rawValue,
                                 what: "created a 65536x65536 buffer with stride 262144 (2^34 bytes) in a \(2 * Self.bufferSize)-byte pool")
        case .unknownFormat:
            let format: UInt32 = 0x2020_3843
            let advertised = shm.formats.contains(format)
            let note = advertised
                ? "which wl_shm DOES advertise, so this proves nothing"
                : "not among the \(shm.formats.count) formats wl_shm advertised"
            return try badBuffer(offset: 0, width: 64, height: 64, stride: 256, format: format,
                                 what: "created a 64x64 buffer with format 0x20203843 ('C8'), \(note)")
        case .nonFileFD: return try nonFileFD()
        case .zeroSizePool: return try zeroSizePool()
        case .bufferAfterPoolDestroy: return try bufferAfterPoolDestroy()
        case .useAfterDestroy: return try useAfterDestroy()
        case .dmabufOutOfBoundsPlane: return try dmabufOutOfBoundsPlane()
        case .dmabufMissingPlane: return try dmabufMissingPlane()
        case .dmabufNotADmabuf: return try dmabufNotADmabuf()
        case .dmabufUnadvertisedModifier: return try dmabufUnadvertisedModifier()
        case .dmabufReusedParams: return try dmabufReusedParams()
        case .neverRead: return try neverRead()
        case .hoardBuffers: return try hoardBuffers()
        case .oversized: return try oversized()
        case .hugetlbHole: return try hugetlbHole()
        }
    }

    // MARK: Helpers

    /// A toplevel whose first configure has been acked, so later violations are the only ones.
    func mappedWindow() throws -> Toplevel {
        let toplevel = Toplevel(context: context, title: "demo-client (\(mode.rawValue))", appID: "demo-client")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "the first configure")
        return toplevel
    }

    func roundtrip(_ what: String = "the compositor's reaction") throws {
        try connection.roundtrip(timeout: timeout).orThrow(waitingFor: what)
    }

    /// Renders the demo pattern with `buffers` for `frames` frames.
    func render<Buffer: WaylandBuffer>(_ toplevel: Toplevel, _ buffers: BufferSet<Buffer>) throws -> FrameLoop.Summary {
        let loop = FrameLoop(toplevel: toplevel, buffers: buffers) { buffer, frame in
            try DemoPattern.draw(into: buffer, frame: frame)
        }
        let summary = try loop.run(frames: frames, timeout: timeout)
        if summary.stopReason == .interrupted { throw ClientError.interrupted }
        try roundtrip("the last frame")
        return summary
    }

    /// An ordinary buffer set (the `--anon-file` strategy), for modes whose own buffers are unusable.
    func ordinaryBuffers() throws -> BufferSet<ShmBuffer> {
        let set = try BufferSet(shm: shm, width: width, height: height, strategy: anonymousFile)
        report("anon-file: \(set.anonymousFileStrategy)")
        return set
    }

    /// A sealed memfd (F_SEAL_SHRINK) of `size` bytes: the violation is never the file itself.
    func sealedMemfd(size: Int) throws -> AnonymousFile {
        try AnonymousFile(size: size, strategy: .memfd, options: .init(name: "demo-client-\(mode.rawValue)"))
    }

    /// Buffers `side` x `side` at `offsets` of `pool`, as a set FrameLoop can draw with.
    func bufferSet(_ pool: ShmPool, side: Int = MisbehaviorRunner.side, offsets: [Int]) -> BufferSet<ShmBuffer> {
        BufferSet(pool: pool, buffers: offsets.map {
            ShmBuffer(pool: pool, offset: $0, width: side, height: side, format: .xrgb8888)
        })
    }

    /// A memfd created with these flags and no seals, filled to `size`.
    func unsealedMemfd(size: Int, allowSealing: Bool) throws -> AnonymousFile {
        let flags = UInt32(CW_MFD_CLOEXEC) | (allowSealing ? UInt32(CW_MFD_ALLOW_SEALING) : 0)
        let raw = cw_memfd_create("demo-client-\(mode.rawValue)", flags)
        guard raw >= 0 else { throw ClientError.system(operation: "memfd_create", errno: .current) }
        let fd = FileDescriptor(rawValue: raw)
        do throws(AnonymousFile.Failure) {
            try AnonymousFile.allocate(fd, size: size)
        } catch {
            try? fd.close()
            throw ClientError.system(operation: "sizing the memfd", errno: error.errno ?? .invalidArgument)
        }
        return AnonymousFile(adopting: fd, size: size, strategy: .memfd, name: "demo-client-\(mode.rawValue)")
    }

    static func hex(_ value: Int32) -> String { "0x" + String(UInt32(bitPattern: value), radix: 16) }

    // MARK: Modes

    func attachBeforeConfigure() throws -> FrameLoop.Summary? {
        let buffers = try ordinaryBuffers()
        let toplevel = Toplevel(context: context, title: "demo-client (misbehaving)", appID: "demo-client")
        guard let buffer = buffers.freeBuffer() else { preconditionFailure("no free buffer") }
        DemoPattern.draw(into: buffer, frame: 0)
        // Nothing was dispatched since the initial commit, so no configure can have been acked.
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
        toplevel.surface.commit()
        say("attached and committed a buffer before the first configure")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func destroyOrderings() throws {
        let buffers = try ordinaryBuffers()
        // 1. A mapped window whose wl_buffer is destroyed while attached: the compositor must
        //    keep reading its pixels safely and still complete frames.
        var toplevel: Toplevel? = try mappedWindow()
        let shown = buffers.buffers[0]
        DemoPattern.draw(into: shown, frame: 0)
        let first = toplevel!.present(shown)!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")
        shown.destroy()
        let afterDestroy = toplevel!.surface.requestFrame()
        toplevel!.surface.commit()
        try connection.wait(timeout: timeout) { afterDestroy.isDone }
            .orThrow(waitingFor: "a frame after destroying the attached buffer")

        // 2. The surface destroyed with frame callbacks pending, one committed, one not.
        let committed = toplevel!.surface.requestFrame()
        toplevel!.surface.commit()
        let uncommitted = toplevel!.surface.requestFrame()
        toplevel = nil  // xdg_toplevel, xdg_surface, then wl_surface
        try roundtrip("the compositor after the surface went")
        withExtendedLifetime((committed, uncommitted)) {}

        // 3. Gone mid-frame: a new window commits a buffer and the client leaves at once.
        let last = try mappedWindow()
        let leaving = buffers.buffers[1]
        DemoPattern.draw(into: leaving, frame: 1)
        last.present(leaving)
        try connection.flush()
        say("destroyed an attached wl_buffer, destroyed a surface with pending frame callbacks, committed and left mid-frame")
        withExtendedLifetime(last) {}
    }

    func memfdWithoutSeals(allowSealing: Bool) throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let file = try unsealedMemfd(size: size, allowSealing: allowSealing)
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let how = allowSealing ? "with MFD_ALLOW_SEALING but no seals" : "without MFD_ALLOW_SEALING"
        say("created a wl_shm_pool from a \(size)-byte memfd \(how) (F_GET_SEALS \(Self.hex(file.seals)))")
        try roundtrip()
        if allowSealing { try tryToShrink(file, size: size) }
        return try render(toplevel, buffers)
    }

    /// After the pool was accepted: a compositor that enforces the rule has sealed the file, and
    /// the kernel now refuses to shrink it. Where it did not seal (`guard`), nothing is tried: the
    /// shrink would succeed and the compositor would have to catch it (truncate-after-commit).
    func tryToShrink(_ file: AnonymousFile, size: Int) throws {
        let seals = fcntl(file.fileDescriptor.rawValue, Int32(CW_F_GET_SEALS))
        guard seals >= 0, seals & Int32(CW_F_SEAL_SHRINK) != 0 else {
            say("the pool is still unsealed (F_GET_SEALS \(Self.hex(seals))): the compositor reads it under its SIGBUS guard")
            return
        }
        let smaller = size - 4096
        let result = ftruncate(file.fileDescriptor.rawValue, off_t(smaller)) == 0
            ? "succeeded, so the kernel ignored the seal" : Errno.current == .notPermitted ? "EPERM (\(Errno.notPermitted))" : "\(Errno.current)"
        say("the compositor sealed the pool (F_GET_SEALS now \(Self.hex(seals))); ftruncate to \(smaller) bytes: \(result)")
    }

    func diskFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let (fd, directory, fileSystem) = try Self.diskFile()
        let file: AnonymousFile
        do throws(AnonymousFile.Failure) {
            try AnonymousFile.allocate(fd, size: size)
            file = AnonymousFile(adopting: fd, size: size, strategy: .runtimeDirFile, name: "\(directory)/demo-client-disk-file")
        } catch {
            try? fd.close()
            throw ClientError.system(operation: "sizing the disk file", errno: error.errno ?? .invalidArgument)
        }
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        say("created a wl_shm_pool from a \(size)-byte unlinked file in \(directory) (\(fileSystem), not shared memory)")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    /// An unlinked file in the first of $TMPDIR, /var/tmp, /tmp that is not on tmpfs or ramfs.
    static func diskFile() throws -> (FileDescriptor, String, String) {
        let candidates = [getenv("TMPDIR").map { String(cString: $0) }, "/var/tmp", "/tmp"].compactMap { $0 }
        for directory in candidates {
            var template = Array("\(directory)/demo-client-disk-XXXXXX".utf8CString)
            let raw = template.withUnsafeMutableBufferPointer { cw_mkostemp($0.baseAddress!, O_CLOEXEC) }
            guard raw >= 0 else { continue }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            let type = cw_fs_type(raw)  // tmpfs, ramfs and hugetlbfs are memory
            guard ![0x0102_1994, 0x8584_58f6, 0x9584_58f6].contains(type) else { close(raw); continue }
            return (FileDescriptor(rawValue: raw), directory, "file system type 0x\(String(type, radix: 16))")
        }
        throw ClientError.system(operation: "finding a directory on a disk file system in \(candidates.joined(separator: ", "))", errno: .noSuchFileOrDirectory)
    }

    func truncateCaptureTarget() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let buffers = try BufferSet<ShmBuffer>(shm: shm, width: Self.side, height: Self.side, count: 2)
        DemoPattern.draw(into: buffers.buffers[0], frame: 0)
        let first = toplevel.present(buffers.buffers[0])!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")

        var target: AnonymousFile?
        let stream = try ImageCopyCaptureStream(connection: connection, timeout: timeout) { size in
            let file = try AnonymousFile(size: size, strategy: .shmOpen, options: .init(name: "demo-client-capture-target"))
            target = file
            return file
        }
        guard case .ready = try stream.next(timeout: timeout), let file = target else {
            throw ClientError.system(operation: "the first capture", errno: .ioError)
        }
        say("captured the output into a \(file.size)-byte shm_open pool, truncated the file to 0 bytes, changed the window and captured into the same buffer")
        // From here on the client must not touch the target's mapping either: it lies past EOF.
        guard ftruncate(file.fileDescriptor.rawValue, 0) == 0 else { throw ClientError.system(operation: "ftruncate", errno: .current) }
        DemoPattern.draw(into: buffers.buffers[1], frame: 1)
        _ = toplevel.present(buffers.buffers[1])
        _ = try? stream.next(timeout: Self.frameGrace)  // the compositor writes the change; give it that long to object
        try roundtrip()

        // Tolerated: give the file its size back and carry on rendering.
        guard ftruncate(file.fileDescriptor.rawValue, off_t(file.size)) == 0 else { throw ClientError.system(operation: "ftruncate", errno: .current) }
        return try render(toplevel, buffers)
    }

    func truncateAfterCommit() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let file = try AnonymousFile(size: size, strategy: .shmOpen, options: .init(name: "demo-client-truncate"))
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        say("rendered frame 0 from a \(size)-byte shm_open pool, truncated the file to 0 bytes, then re-attached and committed the same buffer")
        let buffer = buffers.buffers[0]
        DemoPattern.draw(into: buffer, frame: 0)
        let first = toplevel.present(buffer)!
        try connection.wait(timeout: timeout) { first.isDone }.orThrow(waitingFor: "the first frame")

        // From here on the client must not touch the mapping either: it lies past EOF.
        guard ftruncate(file.fileDescriptor.rawValue, 0) == 0 else {
            throw ClientError.system(operation: "ftruncate", errno: .current)
        }
        toplevel.surface.attach(buffer)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: buffer.width, height: buffer.height)
        let again = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        // The compositor reads the pixels when it repaints; give it that long to object.
        try connection.wait(timeout: Self.frameGrace) { again.isDone }
        try roundtrip()

        // Tolerated: give the file its size back (zero-filled) and carry on with the same pool.
        guard ftruncate(file.fileDescriptor.rawValue, off_t(size)) == 0 else {
            throw ClientError.system(operation: "ftruncate", errno: .current)
        }
        return try render(toplevel, buffers)
    }

    func poolLargerThanFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = try ShmPool(shm: shm, file: file, declaredSize: 8192)
        // Only the part backed by the file is drawn into: two 16x16 buffers.
        let buffers = bufferSet(pool, side: 16, offsets: [0, 1024])
        say("created a wl_shm_pool of 8192 bytes over a 4096-byte memfd sealed \(Self.hex(file.seals))")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func resizeBeyondFile() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = try ShmPool(shm: shm, file: file)
        let buffers = bufferSet(pool, side: 16, offsets: [0, 1024])
        pool.sendResize(8192)
        let beyond = pool.makeRawBufferProxy(offset: 4096, width: 16, height: 16, stride: 64, format: ShmFormat.xrgb8888.rawValue)
        wl_surface_attach(toplevel.surface.proxy, beyond, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: 16, height: 16)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        say("resized a pool over a 4096-byte memfd sealed \(Self.hex(file.seals)) to 8192 without growing the file, then committed a 16x16 buffer at offset 4096")
        try connection.wait(timeout: Self.frameGrace) { frame.isDone }
        try roundtrip()
        wl_buffer_destroy(beyond)
        return try render(toplevel, buffers)
    }

    func shrinkPool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = 2 * Self.bufferSize
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: size))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        pool.sendResize(Int32(size / 2))
        say("created a \(size)-byte pool holding 2 buffers, then resized it to \(size / 2)")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    /// A pool of two good 64x64 buffers plus one made with these (bad) arguments.
    func badBuffer(offset: Int32, width: Int32, height: Int32, stride: Int32, format: UInt32, what: String) throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 2 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let bad = pool.makeRawBufferProxy(offset: offset, width: width, height: height, stride: stride, format: format)
        say(what)
        try roundtrip()
        wl_buffer_destroy(bad)
        return try render(toplevel, buffers)
    }

    func nonFileFD() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer {
            try? readEnd.close()
            try? writeEnd.close()
        }
        let pool = wl_shm_create_pool(shm.proxy, readEnd.rawValue, 4096)!
        say("created a 4096-byte wl_shm_pool from the read end of a pipe")
        try roundtrip()
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }

    func zeroSizePool() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let file = try sealedMemfd(size: 4096)
        let pool = wl_shm_create_pool(shm.proxy, file.fileDescriptor.rawValue, 0)!
        say("created a wl_shm_pool of size 0 over a 4096-byte sealed memfd")
        try roundtrip()
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }

    func bufferAfterPoolDestroy() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 2 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        pool.destroyProxy()  // the mapping stays: the buffers still need it
        say("created 2 buffers, destroyed their wl_shm_pool, and renders with the buffers")
        try roundtrip()
        return try render(toplevel, buffers)
    }

    func useAfterDestroy() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let pool = try ShmPool(shm: shm, file: sealedMemfd(size: 3 * Self.bufferSize))
        let buffers = bufferSet(pool, offsets: [0, Self.bufferSize])
        let victim = ShmBuffer(pool: pool, offset: 2 * Self.bufferSize, width: Self.side, height: Self.side, format: .xrgb8888)
        DemoPattern.draw(into: victim, frame: 0)
        try roundtrip("the buffer's creation")
        // The request only: wl_buffer_destroy would free the proxy too.
        victim.sendDestroyKeepingProxy()
        toplevel.surface.attach(victim)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        toplevel.surface.commit()
        say("sent wl_buffer.destroy but kept the proxy, then attached that buffer and committed")
        try roundtrip()
        victim.destroy()  // frees the proxy only (no second destroy request)
        return try render(toplevel, buffers)
    }
}
