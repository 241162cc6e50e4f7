import ClientKit
import CWayland
import Glibc
import SystemPackage

// MARK: Limits

extension MisbehaviorRunner {
    /// Pools `oversized` makes: 1 GiB each, at most 128 of them.
    static let oversizedPool = 1 << 30
    static let oversizedLimit = 128

    /// A memfd sealed F_SEAL_SHRINK and sized with ftruncate only: sparse, no page allocated.
    func sparseSealedMemfd(size: Int, flags: UInt32 = 0) throws -> FileDescriptor {
        let raw = cw_memfd_create("demo-client-\(mode.rawValue)", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING) | flags)
        guard raw >= 0 else { throw ClientError.system(operation: "memfd_create", errno: .current) }
        let fd = FileDescriptor(rawValue: raw)
        guard ftruncate(raw, off_t(size)) == 0, fcntl(raw, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0 else {
            let e = Errno.current
            try? fd.close()
            throw ClientError.system(operation: "sizing and sealing the memfd", errno: e)
        }
        return fd
    }

    func oversized() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let size = Self.oversizedPool
        say("creates \(size)-byte pools, each over its own sealed memfd sized with ftruncate and never written, until the compositor refuses one (at most \(Self.oversizedLimit))")
        var files: [FileDescriptor] = []
        var pools: [OpaquePointer] = []
        defer {
            pools.forEach { wl_shm_pool_destroy($0) }
            files.forEach { try? $0.close() }
        }
        for n in 1...Self.oversizedLimit {
            let fd = try sparseSealedMemfd(size: size)
            files.append(fd)
            pools.append(wl_shm_create_pool(shm.proxy, fd.rawValue, Int32(size))!)
            do {
                try roundtrip()
            } catch let error as ProtocolError {
                say("pool \(n) was refused, with \(n - 1) pools (\((n - 1) * size) bytes) accepted before it")
                throw error
            }
        }
        say("all \(Self.oversizedLimit) pools accepted: the compositor maps \(Self.oversizedLimit * size) bytes for this client")
        return try render(toplevel, ordinaryBuffers())
    }

    /// `Hugepagesize` and `HugePages_Free` from /proc/meminfo (bytes, pages).
    static func hugePages() -> (size: Int, free: Int) {
        let fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (2 << 20, 0) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16384)
        let n = read(fd, &bytes, bytes.count)
        let text = String(decoding: bytes.prefix(max(n, 0)), as: UTF8.self)
        var size = 2 << 20, free = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard parts.count >= 2, let value = Int(parts[1]) else { continue }
            if parts[0] == "Hugepagesize" { size = value * 1024 }
            if parts[0] == "HugePages_Free" { free = value }
        }
        return (size, free)
    }

    func hugetlbHole() throws -> FrameLoop.Summary {
        let toplevel = try mappedWindow()
        let (pageSize, free) = Self.hugePages()
        let fd = try sparseSealedMemfd(size: pageSize, flags: 0x0004 /* MFD_HUGETLB */)
        defer { try? fd.close() }
        // No mapping of the client's: its pages are never touched, by the client at least.
        let pool = wl_shm_create_pool(shm.proxy, fd.rawValue, Int32(pageSize))!
        let buffer = wl_shm_pool_create_buffer(pool, 0, Int32(Self.side), Int32(Self.side), Int32(Self.stride), ShmFormat.xrgb8888.rawValue)!
        say("created a \(pageSize)-byte pool over a hugetlb memfd sealed F_SEAL_SHRINK and never touched (HugePages_Free \(free)), and a 64x64 buffer of it")
        do {
            try roundtrip("the pool's creation")
        } catch let error as ProtocolError {
            say("the pool was refused at wl_shm.create_pool\(free == 0 ? " (no huge page is free to reserve for the compositor's mapping)" : "")")
            throw error
        }
        // Huge pages taken from everyone else, one mapping each, until none is left.
        var taken: [UnsafeMutableRawPointer] = []
        defer { for page in taken { munmap(page, pageSize) } }
        if free > 0 {
            // The compositor's mapping reserved a huge page for the file. Punching out a page
            // that was never faulted keeps that reservation (the kernel gives reservations back
            // only with the pages it frees), so fault it in once, then punch it out: page and
            // reservation go. MADV_REMOVE on a shared mapping is fallocate(PUNCH_HOLE |
            // KEEP_SIZE). Then take every free huge page, so that the compositor's next fault
            // on the pool finds none.
            var punched = "MAP_SHARED: \(Errno.current)"
            if let m = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0), m != MAP_FAILED {
                m.storeBytes(of: 0, as: UInt8.self)
                punched = madvise(m, pageSize, 9 /* MADV_REMOVE */) == 0 ? "done" : "MADV_REMOVE: \(Errno.current)"
                munmap(m, pageSize)
            }
            var stopped = Errno.current
            while taken.count < 1 << 16 {
                guard let m = mmap(nil, pageSize, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | 0x40000 /* MAP_HUGETLB */ | 0x8000 /* MAP_POPULATE */, -1, 0),
                      m != MAP_FAILED else { stopped = Errno.current; break }
                m.storeBytes(of: 1, as: UInt8.self)  // fault it in, should MAP_POPULATE not have
                taken.append(m)
            }
            say("faulted the pool's page in once and punched it out (\(punched)) and took \(taken.count) free huge pages (the next: \(stopped)); HugePages_Free now \(Self.hugePages().free)")
        }
        wl_surface_attach(toplevel.surface.proxy, buffer, 0, 0)
        toplevel.surface.damageBuffer(x: 0, y: 0, width: Self.side, height: Self.side)
        let frame = toplevel.surface.requestFrame()
        toplevel.surface.commit()
        try connection.wait(timeout: Self.frameGrace) { frame.isDone }
        // On demand, nothing reads the pixels until a consumer asks for a frame: ask for one.
        let capture = try OutputCapture(connection: connection, timeout: timeout)
        if capture.screencopyVersion != nil {
            _ = try capture.capture(.screencopy, timeout: timeout)
            say("asked for a screencopy frame, which composites the buffer")
        } else {
            say("the compositor offers no screencopy: nothing made it read the buffer")
        }
        try roundtrip()
        wl_buffer_destroy(buffer)
        wl_shm_pool_destroy(pool)
        return try render(toplevel, ordinaryBuffers())
    }
}
