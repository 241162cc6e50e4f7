import CPixman

/// `wl_output.transform` as used by `wl_surface.set_buffer_transform`: how the client rotated or
/// flipped its buffer; the compositor applies the inverse to display it.
public enum BufferTransform: Int32, CaseIterable, Sendable {
    case normal = 0, rotate90, rotate180, rotate270, flipped, flipped90, flipped180, flipped270

    /// 90° and 270° variants swap width and height.
    public var swapsAxes: Bool { rawValue & 1 == 1 }

    public var inverse: BufferTransform {
        switch self {
        case .rotate90: .rotate270
        case .rotate270: .rotate90
        default: self
        }
    }

    /// Maps `r`, which lies in a `width`×`height` space, through this transform (wlroots'
    /// `wlr_box_transform`). Buffer damage becomes surface damage through `inverse`.
    public func apply(_ r: Rect, width: Int32, height: Int32) -> Rect {
        switch self {
        case .normal: return r
        case .rotate90: return Rect(x: height - r.y - r.height, y: r.x, width: r.height, height: r.width)
        case .rotate180: return Rect(x: width - r.x - r.width, y: height - r.y - r.height, width: r.width, height: r.height)
        case .rotate270: return Rect(x: r.y, y: width - r.x - r.width, width: r.height, height: r.width)
        case .flipped: return Rect(x: width - r.x - r.width, y: r.y, width: r.width, height: r.height)
        case .flipped90: return Rect(x: r.y, y: r.x, width: r.height, height: r.width)
        case .flipped180: return Rect(x: r.x, y: height - r.y - r.height, width: r.width, height: r.height)
        case .flipped270: return Rect(x: height - r.y - r.height, y: width - r.x - r.width, width: r.height, height: r.width)
        }
    }

    /// The affine map from a surface point (in buffer pixels, i.e. already multiplied by the
    /// buffer scale, in a `width`×`height` space) to the buffer point it shows, as rows
    /// `(a, b, c), (d, e, f)`: bx = a·x + b·y + c, by = d·x + e·y + f.
    public func surfaceToBuffer(width w: Double, height h: Double) -> (Double, Double, Double, Double, Double, Double) {
        switch self {
        case .normal: (1, 0, 0, 0, 1, 0)
        case .rotate90: (0, -1, h, 1, 0, 0)
        case .rotate180: (-1, 0, w, 0, -1, h)
        case .rotate270: (0, 1, 0, -1, 0, w)
        case .flipped: (-1, 0, w, 0, 1, 0)
        case .flipped90: (0, 1, 0, 1, 0, 0)
        case .flipped180: (1, 0, 0, 0, -1, h)
        case .flipped270: (0, -1, h, -1, 0, w)
        }
    }
}
