import CZlib

/// Decodes 8-bit RGB / RGBA non-interlaced PNGs (what compositord and grim write), all five
/// scanline filters, so tests can check exact pixel values.
public struct PNGImage: Sendable {
    public let width: Int, height: Int
    /// 0xFFRRGGBB (alpha kept for RGBA images).
    public let pixels: [UInt32]

    public func pixel(_ x: Int, _ y: Int) -> UInt32 { pixels[y * width + x] }
    public func rgb(_ x: Int, _ y: Int) -> UInt32 { pixel(x, y) & 0xFF_FFFF }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    public init(bytes: [UInt8]) throws {
        guard bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw Failure(description: "not a PNG")
        }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var i = 8, w = 0, h = 0, colorType = 0
        var idat: [UInt8] = []
        while i + 8 <= bytes.count {
            let len = be32(i)
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            let data = (i + 8)..<(i + 8 + len)
            if type == "IHDR" {
                w = be32(data.lowerBound); h = be32(data.lowerBound + 4)
                guard bytes[data.lowerBound + 8] == 8, bytes[data.lowerBound + 12] == 0 else {
                    throw Failure(description: "only 8-bit non-interlaced PNGs are supported")
                }
                colorType = Int(bytes[data.lowerBound + 9])
            } else if type == "IDAT" {
                idat += bytes[data]
            } else if type == "IEND" { break }
            i = data.upperBound + 4
        }
        let channels: Int
        switch colorType { case 2: channels = 3; case 6: channels = 4; default: throw Failure(description: "colour type \(colorType) unsupported") }
        let rowBytes = w * channels
        var raw = [UInt8](repeating: 0, count: h * (rowBytes + 1))
        var rawLen = uLongf(raw.count)
        let z = uncompress(&raw, &rawLen, idat, uLong(idat.count))
        guard z == Z_OK, Int(rawLen) == raw.count else { throw Failure(description: "zlib uncompress failed (\(z))") }

        var out = [UInt8](repeating: 0, count: h * rowBytes)
        for y in 0..<h {
            let filter = raw[y * (rowBytes + 1)]
            let src = y * (rowBytes + 1) + 1, dst = y * rowBytes
            for x in 0..<rowBytes {
                let a = x >= channels ? Int(out[dst + x - channels]) : 0
                let b = y > 0 ? Int(out[dst - rowBytes + x]) : 0
                let c = (x >= channels && y > 0) ? Int(out[dst - rowBytes + x - channels]) : 0
                let v = Int(raw[src + x])
                let pred: Int
                switch filter {
                case 0: pred = 0
                case 1: pred = a
                case 2: pred = b
                case 3: pred = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw Failure(description: "bad filter \(filter)")
                }
                out[dst + x] = UInt8((v + pred) & 0xFF)
            }
        }
        var px = [UInt32](repeating: 0, count: w * h)
        for p in 0..<(w * h) {
            let o = p * channels
            let alpha: UInt32 = channels == 4 ? UInt32(out[o + 3]) : 0xFF
            px[p] = alpha << 24 | UInt32(out[o]) << 16 | UInt32(out[o + 1]) << 8 | UInt32(out[o + 2])
        }
        width = w; height = h; pixels = px
    }
}
