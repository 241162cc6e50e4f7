import ClientKit
import CWayland
import Glibc
import SystemPackage
import Testing

/// Rows of XRGB8888 with `stride` bytes per row: pixel (x, y) is 0xXX_yy_xx_5A, where the X byte
/// (0xAB) and the padding bytes after each row (0xEE) are junk a reader must ignore.
private func pattern(width: Int, height: Int, stride: Int, offset: Int = 0) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xEE, count: offset + stride * height)
    for y in 0..<height {
        for x in 0..<width {
            let at = offset + y * stride + x * 4
            bytes[at] = 0x5A            // B
            bytes[at + 1] = UInt8(x)    // G
            bytes[at + 2] = UInt8(y)    // R
            bytes[at + 3] = 0xAB        // X
        }
    }
    return bytes
}

private func expected(x: Int, y: Int) -> UInt32 { 0xFF00_0000 | UInt32(y) << 16 | UInt32(x) << 8 | 0x5A }

@Suite struct CapturedImageTests {
    @Test func readsRowsWithStridePadding() throws {
        let bytes = pattern(width: 5, height: 3, stride: 28)
        let image = try bytes.withUnsafeBytes { try CapturedImage(xrgb8888: $0, width: 5, height: 3, stride: 28) }
        #expect(image.width == 5 && image.height == 3 && image.pixels.count == 15)
        for y in 0..<3 {
            for x in 0..<5 { #expect(image.pixel(x: x, y: y) == expected(x: x, y: y), "(\(x), \(y))") }
        }
        #expect(image.rgb(x: 4, y: 2) == 0x02_04_5A)
    }

    @Test func honoursOffset() throws {
        let bytes = pattern(width: 4, height: 2, stride: 16, offset: 100)
        let image = try bytes.withUnsafeBytes { try CapturedImage(xrgb8888: $0, offset: 100, width: 4, height: 2, stride: 16) }
        #expect(image.pixel(x: 3, y: 1) == expected(x: 3, y: 1))
        #expect(image.pixel(x: 0, y: 0) == expected(x: 0, y: 0))
    }

    @Test func yInvertPutsTheLastRowInMemoryOnTop() throws {
        let bytes = pattern(width: 3, height: 4, stride: 16)
        let image = try bytes.withUnsafeBytes { try CapturedImage(xrgb8888: $0, width: 3, height: 4, stride: 16, yInverted: true) }
        for y in 0..<4 {
            for x in 0..<3 { #expect(image.pixel(x: x, y: y) == expected(x: x, y: 3 - y), "(\(x), \(y))") }
        }
    }

    @Test func rejectsLayoutsThatDoNotFit() throws {
        let bytes = pattern(width: 4, height: 2, stride: 16)
        // The last row needs only width * 4 bytes, not a whole stride.
        let exact = [UInt8](bytes[0..<(16 + 16)])
        #expect(throws: Never.self) { try exact.withUnsafeBytes { _ = try CapturedImage(xrgb8888: $0, width: 4, height: 2, stride: 16) } }
        let short = [UInt8](bytes[0..<31])
        #expect(throws: CapturedImage.Failure.outOfBounds(needed: 32, available: 31)) {
            try short.withUnsafeBytes { _ = try CapturedImage(xrgb8888: $0, width: 4, height: 2, stride: 16) }
        }
        #expect(throws: CapturedImage.Failure.badLayout(width: 4, height: 2, stride: 12)) {
            try bytes.withUnsafeBytes { _ = try CapturedImage(xrgb8888: $0, width: 4, height: 2, stride: 12) }
        }
        #expect(throws: CapturedImage.Failure.badLayout(width: 0, height: 2, stride: 16)) {
            try bytes.withUnsafeBytes { _ = try CapturedImage(xrgb8888: $0, width: 0, height: 2, stride: 16) }
        }
        #expect(throws: CapturedImage.Failure.self) {
            try bytes.withUnsafeBytes { _ = try CapturedImage(xrgb8888: $0, width: 4, height: Int.max / 8, stride: 16) }
        }
    }

    @Test func pngRoundTripKeepsEveryPixel() throws {
        let bytes = pattern(width: 7, height: 5, stride: 40)
        let image = try bytes.withUnsafeBytes { try CapturedImage(xrgb8888: $0, width: 7, height: 5, stride: 40, yInverted: true) }
        let png = try image.pngData()
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try CapturedImage(pngData: png) == image)
    }

    @Test func writePNGCreatesTheFile() throws {
        let path = "/tmp/ckt-capture-\(getpid()).png"
        defer { unlink(path) }
        let image = CapturedImage(width: 2, height: 1, pixels: [0xFFFF_0000, 0xFF00_00FF])
        try image.writePNG(to: path)
        let fd = try FileDescriptor.open(FilePath(path), .readOnly)
        let bytes = try fd.closeAfter {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
            return Array(buffer[0..<count])
        }
        let back = try CapturedImage(pngData: bytes)
        #expect(back.pixels == [0xFFFF_0000, 0xFF00_00FF])
    }
}

@Suite struct CaptureNamingTests {
    @Test func cancelReasons() {
        #expect(CaptureCancelReason(rawValue: 0) == .temporary)
        #expect(CaptureCancelReason(rawValue: 1) == .permanent)
        #expect(CaptureCancelReason(rawValue: 2) == .resizing)
        #expect(CaptureCancelReason(rawValue: 7) == .unknown(7))
        #expect((UInt32(0)...3).map { "\(CaptureCancelReason(rawValue: $0))" } == ["temporary", "permanent", "resizing", "unknown (3)"])
        #expect((UInt32(0)...3).map { CaptureCancelReason(rawValue: $0).rawValue } == [0, 1, 2, 3])
    }

    @Test func errorTextsAreWhatDemoClientPrints() {
        #expect("\(CaptureError.cancelled(.permanent))" == "capture cancelled: permanent")
        #expect("\(CaptureError.cancelled(.resizing))" == "capture cancelled: resizing")
        #expect("\(CaptureError.failed)" == "capture failed")
        #expect("\(CaptureError.unsupportedFormat(format: DrmFormat.xrgb8888, modifier: DrmModifier.intelXTiled))".contains("XR24/0x100000000000001"))
        #expect("\(CaptureError.noUsableBuffer(shmFormats: [0x3432_4258], dmabufFormats: [DrmFormat.xrgb8888]))".contains("XB24"))
    }

    @Test func methodNamesAreTheCommandLineValues() {
        #expect(CaptureMethod.allCases.map(\.rawValue) == ["export-dmabuf", "screencopy", "ext-image-copy-capture"])
        #expect(CaptureMethod(rawValue: "screencopy") == .screencopy)
        #expect(CaptureMethod(rawValue: "export_dmabuf") == nil)
    }

    @Test func bufferKindsAreTheCommandLineValues() {
        #expect(CaptureBufferKind.allCases.map(\.rawValue) == ["shm", "dmabuf"])
        #expect(CaptureBufferKind(rawValue: "dma-buf") == nil)
        #expect("\(CaptureError.noUsableBuffer(shmFormats: [1], dmabufFormats: []))"
            == "screencopy offered no usable buffer (shm formats: [\"XR24\"], dma-buf formats: [])")
    }

    @Test func rectsAndModes() {
        #expect("\(CaptureRect(x: 1, y: 2, width: 30, height: 40))" == "1,2 30x40")
        #expect("\(OutputMode(width: 640, height: 480, refreshMilliHz: 60_000, flags: 3))" == "640x480@60.000Hz")
        #expect("\(OutputMode(width: 640, height: 480, refreshMilliHz: 59_940, flags: 1))" == "640x480@59.940Hz")
        #expect("\(OutputMode(width: 1, height: 1, refreshMilliHz: 5, flags: 0))" == "1x1@0.005Hz")
        #expect(OutputMode(width: 1, height: 1, refreshMilliHz: 0, flags: 3).isPreferred)
    }

    @Test func timestampJoinsTheSecondHalves() {
        let t = CaptureTimestamp(secondsHigh: 1, secondsLow: 2, nanoseconds: 3)
        #expect(t.seconds == 0x1_0000_0002 && t.nanoseconds == 3)
    }

    @Test func objectKnowsADmabufByItsMagic() {
        let o = CapturedObject(index: 0, size: 4096, offset: 0, stride: 64, planeIndex: 0, filesystemType: 0x444D_4142)
        #expect(o.isDmabuf)
        #expect(!CapturedObject(index: 0, size: 4096, offset: 0, stride: 64, planeIndex: 0, filesystemType: 0x0102_1994).isDmabuf)
    }
}

/// `ExportDmabufFrame.readXRGB8888`, the CPU read of an exported object, on descriptors made here.
@Suite struct ExportedObjectReadTests {
    /// A memfd holding `bytes`.
    private func memfd(_ bytes: [UInt8]) throws -> AnonymousFile {
        let file = try AnonymousFile(size: bytes.count, strategy: .memfd)
        let written = try bytes.withUnsafeBytes { try file.fileDescriptor.writeAll(toAbsoluteOffset: 0, $0) }
        #expect(written == bytes.count)
        return file
    }

    @Test func memfdIsReadWithoutSync() throws {
        let bytes = pattern(width: 6, height: 4, stride: 32, offset: 64)
        let file = try memfd(bytes)
        let type = cw_fs_type(file.fileDescriptor.rawValue)
        let object = CapturedObject(index: 0, size: bytes.count, offset: 64, stride: 32, planeIndex: 0, filesystemType: type)
        #expect(!object.isDmabuf)
        let image = try ExportDmabufFrame.readXRGB8888(file.fileDescriptor, object: object, width: 6, height: 4, yInverted: false)
        #expect(image.pixel(x: 5, y: 3) == expected(x: 5, y: 3))
        #expect(image.pixel(x: 0, y: 0) == expected(x: 0, y: 0))
    }

    @Test func sizeZeroFallsBackToTheFileSize() throws {
        let bytes = pattern(width: 2, height: 2, stride: 8)
        let file = try memfd(bytes)
        let object = CapturedObject(index: 0, size: 0, offset: 0, stride: 8, planeIndex: 0, filesystemType: -1)
        let image = try ExportDmabufFrame.readXRGB8888(file.fileDescriptor, object: object, width: 2, height: 2, yInverted: true)
        #expect(image.pixel(x: 1, y: 0) == expected(x: 1, y: 1))
    }

    @Test func tooSmallObjectIsABadFrame() throws {
        let bytes = pattern(width: 2, height: 2, stride: 8)
        let file = try memfd(bytes)
        let object = CapturedObject(index: 3, size: bytes.count, offset: 0, stride: 8, planeIndex: 0, filesystemType: -1)
        #expect(throws: CaptureError.self) {
            _ = try ExportDmabufFrame.readXRGB8888(file.fileDescriptor, object: object, width: 2, height: 3, yInverted: false)
        }
    }

    /// A real dma-buf (where the VM has one): the read is bracketed by DMA_BUF_IOCTL_SYNC.
    @Test(.enabled(if: access("/dev/udmabuf", F_OK) == 0 || access("/dev/dma_heap/system", F_OK) == 0 || access("/dev/dri", F_OK) == 0))
    func dmabufIsReadInsideTheSyncBracket() throws {
        let buffer = try DmaBuf(width: 33, height: 7)
        try buffer.withMutableBytes { bytes in
            for y in 0..<7 {
                for x in 0..<33 {
                    bytes.storeBytes(of: UInt32(0xAB00_005A | y << 16 | x << 8), toByteOffset: buffer.offset + y * buffer.stride + x * 4, as: UInt32.self)
                }
            }
        }
        let object = CapturedObject(index: 0, size: buffer.size, offset: buffer.offset, stride: buffer.stride, planeIndex: 0,
                                    filesystemType: cw_fs_type(buffer.fileDescriptor.rawValue))
        #expect(object.isDmabuf)
        let image = try ExportDmabufFrame.readXRGB8888(buffer.fileDescriptor, object: object, width: 33, height: 7, yInverted: false)
        #expect(image.pixel(x: 32, y: 6) == expected(x: 32, y: 6))
        #expect(image.pixel(x: 0, y: 0) == expected(x: 0, y: 0))
    }
}
