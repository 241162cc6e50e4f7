import Glibc
import PNG
import SystemPackage

/// A captured picture: `width` x `height` pixels, top row first, each 0xFFRRGGBB.
///
/// Made from an XRGB8888 (or ARGB8888, whose alpha is dropped) buffer with any row stride, upside
/// down when the compositor said so (`y_invert`), and turned into a PNG.
public struct CapturedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major, top row first, 0xFFRRGGBB.
    public let pixels: [UInt32]

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The layout does not fit: `needed` bytes from the start, only `available` there.
        case outOfBounds(needed: Int, available: Int)
        /// Width, height or stride are not usable (non-positive, or stride < width * 4).
        case badLayout(width: Int, height: Int, stride: Int)

        public var description: String {
            switch self {
            case let .outOfBounds(needed, available):
                return "the image needs \(needed) bytes but the buffer holds \(available)"
            case let .badLayout(width, height, stride):
                return "unusable layout \(width)x\(height), stride \(stride)"
            }
        }
    }

    public init(width: Int, height: Int, pixels: [UInt32]) {
        precondition(pixels.count == width * height, "pixel count does not match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Copies an XRGB8888 image out of `bytes`: row `r` (in memory order) starts at
    /// `offset + r * stride`. With `yInverted` the first row in memory is the bottom of the
    /// picture (`zwlr_screencopy_frame_v1.flags` y_invert, `zwp_linux_buffer_params_v1` y_invert).
    public init(xrgb8888 bytes: UnsafeRawBufferPointer, offset: Int = 0, width: Int, height: Int, stride: Int,
                yInverted: Bool = false) throws(Failure) {
        guard width > 0, height > 0, offset >= 0, stride >= width * 4 else {
            throw .badLayout(width: width, height: height, stride: stride)
        }
        let (lastRow, overflow1) = stride.multipliedReportingOverflow(by: height - 1)
        let needed = offset + lastRow + width * 4
        guard !overflow1, needed <= bytes.count, let base = bytes.baseAddress else {
            throw .outOfBounds(needed: overflow1 ? Int.max : needed, available: bytes.count)
        }
        var out = [UInt32](repeating: 0, count: width * height)
        out.withUnsafeMutableBufferPointer { destination in
            for row in 0..<height {
                let sourceRow = yInverted ? height - 1 - row : row
                let source = base + offset + sourceRow * stride
                for x in 0..<width {
                    destination[row * width + x] = 0xFF00_0000 | (source.loadUnaligned(fromByteOffset: x * 4, as: UInt32.self) & 0x00FF_FFFF)
                }
            }
        }
        self.init(width: width, height: height, pixels: out)
    }

    /// The pixel at column `x`, row `y` (top row 0): 0xFFRRGGBB.
    public func pixel(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }

    /// 0x00RRGGBB.
    public func rgb(x: Int, y: Int) -> UInt32 { pixel(x: x, y: y) & 0x00FF_FFFF }

    /// The image as an 8-bit RGB PNG.
    public func pngData() throws -> [UInt8] {
        try pixels.withUnsafeBytes { raw in
            try PNGEncoder.encodeXRGB8888(width: width, height: height, stride: width * 4, pixels: raw.baseAddress!)
        }
    }

    /// Decodes a PNG (8-bit RGB or RGBA; alpha dropped), e.g. one `writePNG` wrote.
    public init(pngData bytes: [UInt8]) throws {
        let image = try PNGImage(bytes: bytes)
        self.init(width: image.width, height: image.height, pixels: image.pixels.map { 0xFF00_0000 | ($0 & 0x00FF_FFFF) })
    }

    /// Writes the PNG to `path` (created or truncated, mode 0644).
    public func writePNG(to path: String) throws {
        let data = try pngData()
        let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead], retryOnInterrupt: true)
        try fd.closeAfter { _ = try fd.writeAll(data) }
    }
}
