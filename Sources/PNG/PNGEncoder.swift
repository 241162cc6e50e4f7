import CZlib

/// A minimal PNG writer (8-bit RGB, no interlace), enough for screenshots of the output.
public enum PNGEncoder {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Encodes `height` rows of XRGB8888 pixels (0xXXRRGGBB, `stride` bytes apart) as PNG.
    public static func encodeXRGB8888(
        width: Int, height: Int, stride: Int, pixels: UnsafeRawPointer
    ) throws -> [UInt8] {
        // Raw scanlines: filter byte 0 ("None") then R, G, B per pixel.
        var raw = [UInt8](repeating: 0, count: height * (1 + width * 3))
        raw.withUnsafeMutableBufferPointer { out in
            var o = 0
            for y in 0..<height {
                out[o] = 0
                o += 1
                let row = pixels + y * stride
                for x in 0..<width {
                    let p = row.load(fromByteOffset: x * 4, as: UInt32.self)
                    out[o] = UInt8((p >> 16) & 0xFF)
                    out[o + 1] = UInt8((p >> 8) & 0xFF)
                    out[o + 2] = UInt8(p & 0xFF)
                    o += 3
                }
            }
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, uLong(raw.count), 6)
        guard status == Z_OK else { throw Failure(description: "zlib compress2 failed (\(status))") }
        compressed.removeSubrange(Int(compressedSize)...)

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, colour type 2 (RGB), deflate, adaptive filters, no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", compressed, to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let typeAndData = Array(type.utf8) + data
        png += typeAndData
        let crc = typeAndData.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        png.appendBigEndian(UInt32(crc))
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendBigEndian(_ v: UInt32) {
        append(UInt8(v >> 24)); append(UInt8((v >> 16) & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8(v & 0xFF))
    }
}
