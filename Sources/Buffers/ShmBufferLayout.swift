/// The geometry of a wl_shm buffer inside its pool, validated without integer overflow.
///
/// The last byte a buffer covers is `offset + stride × (height − 1) + width × bpp`; it must lie
/// within the pool. All arithmetic is done in 64 bits, so INT32 edges cannot wrap.
public struct ShmBufferLayout: Equatable, Sendable {
    public let offset: Int
    public let width: Int32
    public let height: Int32
    public let stride: Int32
    public let format: PixelFormat

    /// Bytes from `offset` to the end of the last row's last pixel.
    public var span: Int { Int(stride) * Int(height - 1) + Int(width) * Int(format.bytesPerPixel) }

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case nonPositiveSize(width: Int32, height: Int32)
        case negativeOffset(Int32)
        case strideNotMultipleOfPixel(stride: Int32, bytesPerPixel: Int32)
        case strideTooSmall(stride: Int32, minimum: Int64)
        case outOfPool(end: Int64, poolSize: Int)

        public var description: String {
            switch self {
            case let .nonPositiveSize(w, h): "buffer size \(w)x\(h) is not positive"
            case let .negativeOffset(o): "offset \(o) is negative"
            case let .strideNotMultipleOfPixel(s, bpp): "stride \(s) is not a multiple of \(bpp) bytes per pixel"
            case let .strideTooSmall(s, min): "stride \(s) is smaller than width × bytes per pixel (\(min))"
            case let .outOfPool(end, size): "buffer ends at byte \(end), past the pool's \(size) bytes"
            }
        }
    }

    public static func validate(
        offset: Int32, width: Int32, height: Int32, stride: Int32, format: PixelFormat, poolSize: Int
    ) -> Result<ShmBufferLayout, Invalid> {
        guard width > 0, height > 0 else { return .failure(.nonPositiveSize(width: width, height: height)) }
        guard offset >= 0 else { return .failure(.negativeOffset(offset)) }
        let bpp = Int64(format.bytesPerPixel)
        let minimum = Int64(width) * bpp
        guard stride > 0, Int64(stride) % bpp == 0 else {
            return .failure(stride > 0 ? .strideNotMultipleOfPixel(stride: stride, bytesPerPixel: format.bytesPerPixel)
                                       : .strideTooSmall(stride: stride, minimum: minimum))
        }
        guard Int64(stride) >= minimum else { return .failure(.strideTooSmall(stride: stride, minimum: minimum)) }
        let end = Int64(offset) + Int64(stride) * (Int64(height) - 1) + minimum
        guard end <= Int64(poolSize) else { return .failure(.outOfPool(end: end, poolSize: poolSize)) }
        return .success(ShmBufferLayout(offset: Int(offset), width: width, height: height, stride: stride, format: format))
    }
}
