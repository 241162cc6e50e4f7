import CDRM
import CWayland
import Glibc
import SystemPackage

extension DmaBuf {
    // MARK: Strategies

    static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    static func roundUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }

    static func make(_ strategy: Strategy, width: Int, height: Int, options: Options) throws(Failure) -> Made {
        switch strategy {
        case .automatic: preconditionFailure("automatic is a chain, not a strategy")
        case .udmabuf: return try makeUdmabuf(width: width, height: height, options: options)
        case .dumb: return try makeDumb(width: width, height: height, options: options)
        case .heap: return try makeHeap(width: width, height: height, options: options)
        }
    }

    static func open(_ path: String, _ flags: Int32, device kind: String) throws(Failure) -> FileDescriptor {
        var fd: Int32
        repeat {
            fd = Glibc.open(path, flags | O_CLOEXEC)
        } while fd < 0 && Glibc.errno == EINTR
        guard fd >= 0 else {
            let errno = Errno.current
            throw .system(call: "open \(path)", errno: errno, hint: openHint(device: kind, path: path, errno: errno))
        }
        return FileDescriptor(rawValue: fd)
    }

    static func map(_ fd: Int32, length: Int, offset: off_t = 0, call: String) throws(Failure) -> UnsafeMutableRawPointer {
        guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset), address != MAP_FAILED else {
            throw .system(call: call, errno: .current, hint: nil)
        }
        return address
    }

    static func makeUdmabuf(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let stride = width * 4
        // UDMABUF_CREATE takes whole pages only.
        let length = roundUp(stride * height, to: pageSize)
        let device = try open(options.udmabufDevice, O_RDWR, device: "udmabuf")
        defer { try? device.close() }

        // F_SEAL_SHRINK (which the kernel requires) | F_SEAL_SEAL, never F_SEAL_WRITE (which it rejects).
        let memfd: AnonymousFile
        do {
            memfd = try AnonymousFile(size: length, strategy: .memfd, options: .init(name: options.memfdName))
        } catch {
            if case let .system(call, errno)? = error.attempts.first?.failure {
                throw .system(call: "\(call) (the memfd for udmabuf)", errno: errno, hint: nil)
            }
            throw .unusable("the memfd for udmabuf: \(error)")
        }
        let fd = try udmabufCreate(device: device, memfd: memfd.fileDescriptor, size: length, devicePath: options.udmabufDevice)
        do throws(Failure) {
            let memory = try map(memfd.fileDescriptor.rawValue, length: length, call: "mmap of the udmabuf memfd")
            return Made(fd: fd, device: options.udmabufDevice, stride: stride, memory: memory, mappedLength: length,
                        backing: .udmabuf(memfd: memfd))
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// `UDMABUF_CREATE` over the first `size` bytes of `memfd` (close-on-exec): the kernel's
    /// errno comes back as `Failure.system` with `udmabufCreateHint`'s explanation.
    public static func udmabufCreate(
        device: FileDescriptor, memfd: FileDescriptor, size: Int, devicePath: String = "/dev/udmabuf"
    ) throws(Failure) -> FileDescriptor {
        let result = cdrm_udmabuf_create(device.rawValue, memfd.rawValue, 0, UInt64(size))
        guard result >= 0 else {
            let errno = Errno(rawValue: -result)
            let seals = fcntl(memfd.rawValue, Int32(CW_F_GET_SEALS))
            let hint = udmabufCreateHint(errno: errno, seals: seals >= 0 ? seals : nil, size: size, pageSize: pageSize,
                                         sizeLimitMB: udmabufSizeLimitMB())
            throw .system(call: "UDMABUF_CREATE on \(devicePath)", errno: errno, hint: hint)
        }
        return FileDescriptor(rawValue: result)
    }

    static func makeHeap(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let stride = width * 4
        let length = roundUp(stride * height, to: pageSize)
        let heap = try open(options.heapDevice, O_RDONLY, device: "heap")
        defer { try? heap.close() }
        let result = cdrm_dma_heap_alloc(heap.rawValue, UInt64(length))
        guard result >= 0 else {
            let errno = Errno(rawValue: -result)
            let hint: String? = switch errno {
            case .notSupported, Errno(rawValue: ENOTTY): "\(options.heapDevice) is not a dma-heap"
            case .noMemory: "the heap could not allocate \(length) bytes"
            default: nil
            }
            throw .system(call: "DMA_HEAP_IOCTL_ALLOC on \(options.heapDevice)", errno: errno, hint: hint)
        }
        let fd = FileDescriptor(rawValue: result)
        do throws(Failure) {
            let memory = try map(fd.rawValue, length: length, call: "mmap of the heap dma-buf")
            return Made(fd: fd, device: options.heapDevice, stride: stride, memory: memory, mappedLength: length, backing: .heap)
        } catch {
            try? fd.close()
            throw error
        }
    }

    static func makeDumb(width: Int, height: Int, options: Options) throws(Failure) -> Made {
        let directory = options.driDirectory
        let cards: [(number: Int, name: String)]
        do throws(Errno) {
            cards = try cardNodes(in: directory)
        } catch {
            throw .system(call: "opendir \(directory)", errno: error, hint: openHint(device: "dri", path: directory, errno: error))
        }
        guard !cards.isEmpty else {
            throw .unusable("no DRM device: no card* node in \(directory) (no GPU driver loaded; `modprobe vgem` adds a virtual one)")
        }
        var rejected: [String] = []
        for card in cards {
            let path = directory.hasSuffix("/") ? directory + card.name : directory + "/" + card.name
            let fd: FileDescriptor
            do throws(Failure) {
                fd = try open(path, O_RDWR, device: "dri")
            } catch {
                rejected.append("\(path): \(error)")
                continue
            }
            let name = driverName(fd)
            let label = name.map { "\(path) (\($0))" } ?? path
            // KMS drivers answer DRM_CAP_DUMB_BUFFER; render-only ones (vgem) refuse every KMS cap
            // with EOPNOTSUPP yet may still create dumb buffers, so those are tried.
            var dumb: UInt64 = 0
            var capabilityKnown = true
            if drmGetCap(fd.rawValue, UInt64(DRM_CAP_DUMB_BUFFER), &dumb) != 0 {
                let errno = Errno.current
                guard errno == .notSupported else {
                    rejected.append("\(label): drmGetCap(DRM_CAP_DUMB_BUFFER) failed: \(errno.symbolicDescription)")
                    try? fd.close()
                    continue
                }
                capabilityKnown = false
            } else if dumb == 0 {
                rejected.append("\(label): no dumb buffers (DRM_CAP_DUMB_BUFFER is 0)")
                try? fd.close()
                continue
            }
            var prime: UInt64 = 0
            guard drmGetCap(fd.rawValue, UInt64(DRM_CAP_PRIME), &prime) == 0, prime & UInt64(DRM_PRIME_CAP_EXPORT) != 0 else {
                rejected.append("\(label): cannot export buffers (no DRM_PRIME_CAP_EXPORT)")
                try? fd.close()
                continue
            }
            do throws(Failure) {
                return try makeDumb(on: fd, label: label, width: width, height: height)
            } catch {
                try? fd.close()
                // A card that claims dumb buffers and fails is this strategy's failure; one that
                // could not say (render-only) just is not the card.
                if capabilityKnown { throw error }
                rejected.append("\(label): DRM_CAP_DUMB_BUFFER unanswered (EOPNOTSUPP: no KMS) and \(error)")
            }
        }
        throw .unusable("no DRM device with dumb buffers: " + rejected.joined(separator: ", "))
    }

    /// Creates, maps and exports a dumb buffer on `card` (which the result then owns).
    static func makeDumb(on card: FileDescriptor, label: String, width: Int, height: Int) throws(Failure) -> Made {
        var dumb = cdrm_dumb()
        var result = cdrm_create_dumb(card.rawValue, UInt32(width), UInt32(height), 32, &dumb)
        guard result == 0 else {
            throw .system(call: "DRM_IOCTL_MODE_CREATE_DUMB on \(label)", errno: Errno(rawValue: -result), hint: nil)
        }
        var mapOffset: UInt64 = 0
        var memory: UnsafeMutableRawPointer?
        var prime: Int32 = -1
        do throws(Failure) {
            result = cdrm_map_dumb(card.rawValue, dumb.handle, &mapOffset)
            guard result == 0 else {
                throw .system(call: "DRM_IOCTL_MODE_MAP_DUMB on \(label)", errno: Errno(rawValue: -result), hint: nil)
            }
            memory = try map(card.rawValue, length: Int(dumb.size), offset: off_t(Int64(bitPattern: mapOffset)), call: "mmap of the dumb buffer on \(label)")
            // DRM_CLOEXEC | DRM_RDWR: the compositor (and this process) may map the dma-buf writable.
            guard drmPrimeHandleToFD(card.rawValue, dumb.handle, UInt32(O_CLOEXEC | O_RDWR), &prime) == 0, prime >= 0 else {
                throw .system(call: "drmPrimeHandleToFD(DRM_CLOEXEC|DRM_RDWR) on \(label)", errno: .current, hint: nil)
            }
        } catch {
            if let memory { munmap(memory, Int(dumb.size)) }
            _ = cdrm_destroy_dumb(card.rawValue, dumb.handle)
            throw error
        }
        return Made(fd: FileDescriptor(rawValue: prime), device: label, stride: Int(dumb.pitch), memory: memory!,
                    mappedLength: Int(dumb.size), backing: .dumb(card: card, handle: dumb.handle))
    }

    /// `card<N>` entries of `directory`, by N.
    static func cardNodes(in directory: String) throws(Errno) -> [(number: Int, name: String)] {
        guard let dir = opendir(directory) else { throw Errno.current }
        defer { closedir(dir) }
        var found: [(number: Int, name: String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            guard name.hasPrefix("card"), let number = Int(name.dropFirst(4)), number >= 0 else { continue }
            found.append((number, name))
        }
        return found.sorted { $0.number < $1.number }
    }

    static func driverName(_ fd: FileDescriptor) -> String? {
        guard let version = drmGetVersion(fd.rawValue) else { return nil }
        defer { drmFreeVersion(version) }
        guard let name = version.pointee.name, version.pointee.name_len > 0 else { return nil }
        return String(cString: name)
    }

    /// `/sys/module/udmabuf/parameters/size_limit_mb`, if readable (udmabuf's default is 64).
    static func udmabufSizeLimitMB() -> Int? {
        guard let fd = try? FileDescriptor.open("/sys/module/udmabuf/parameters/size_limit_mb", .readOnly, options: .closeOnExec) else {
            return nil
        }
        defer { try? fd.close() }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard let count = try? bytes.withUnsafeMutableBytes({ try fd.read(into: $0) }), count > 0 else { return nil }
        let digits = String(decoding: bytes[..<count], as: UTF8.self).filter { $0.isNumber }
        return Int(digits)
    }
}
