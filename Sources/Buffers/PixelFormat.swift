import CPixman
import CWayland

/// A pixel format a client buffer may use: its wl_shm code (DRM fourcc, except the two legacy
/// codes 0 and 1), the matching pixman format, and its size per pixel.
public struct PixelFormat: Hashable, Sendable, CustomStringConvertible {
    /// The code on the wire (`wl_shm.format`); equal to the DRM fourcc except ARGB8888/XRGB8888.
    public let shmCode: UInt32
    public let name: String
    public let bytesPerPixel: Int32
    public let hasAlpha: Bool
    package let pixman: pixman_format_code_t

    public var description: String { name }

    /// The DRM fourcc of this format (wl_shm uses 0 and 1 for ARGB8888 and XRGB8888).
    public var drmFourcc: UInt32 {
        switch shmCode {
        case WL_SHM_FORMAT_ARGB8888.rawValue: return fourccCode("AR24")
        case WL_SHM_FORMAT_XRGB8888.rawValue: return fourccCode("XR24")
        default: return shmCode
        }
    }

    /// Every format the pixman renderer composites: the 13 Weston's pixman renderer offers.
    public static let all: [PixelFormat] = [
        .init(WL_SHM_FORMAT_ARGB8888, "ARGB8888", 4, true, PIXMAN_a8r8g8b8),
        .init(WL_SHM_FORMAT_XRGB8888, "XRGB8888", 4, false, PIXMAN_x8r8g8b8),
        .init(WL_SHM_FORMAT_ABGR8888, "ABGR8888", 4, true, PIXMAN_a8b8g8r8),
        .init(WL_SHM_FORMAT_XBGR8888, "XBGR8888", 4, false, PIXMAN_x8b8g8r8),
        .init(WL_SHM_FORMAT_RGBA8888, "RGBA8888", 4, true, PIXMAN_r8g8b8a8),
        .init(WL_SHM_FORMAT_RGBX8888, "RGBX8888", 4, false, PIXMAN_r8g8b8x8),
        .init(WL_SHM_FORMAT_BGRA8888, "BGRA8888", 4, true, PIXMAN_b8g8r8a8),
        .init(WL_SHM_FORMAT_BGRX8888, "BGRX8888", 4, false, PIXMAN_b8g8r8x8),
        .init(WL_SHM_FORMAT_ARGB2101010, "ARGB2101010", 4, true, PIXMAN_a2r10g10b10),
        .init(WL_SHM_FORMAT_XRGB2101010, "XRGB2101010", 4, false, PIXMAN_x2r10g10b10),
        .init(WL_SHM_FORMAT_ABGR2101010, "ABGR2101010", 4, true, PIXMAN_a2b10g10r10),
        .init(WL_SHM_FORMAT_XBGR2101010, "XBGR2101010", 4, false, PIXMAN_x2b10g10r10),
        .init(WL_SHM_FORMAT_RGB565, "RGB565", 2, false, PIXMAN_r5g6b5),
    ]

    public static let argb8888 = all[0]
    public static let xrgb8888 = all[1]

    public static func shm(_ code: UInt32) -> PixelFormat? { all.first { $0.shmCode == code } }

    /// The format with this DRM fourcc (linux-dmabuf speaks fourccs, also for ARGB/XRGB8888).
    public static func drm(_ fourcc: UInt32) -> PixelFormat? { all.first { $0.drmFourcc == fourcc } }

    private init(_ code: wl_shm_format, _ name: String, _ bpp: Int32, _ alpha: Bool, _ pixman: pixman_format_code_t) {
        shmCode = code.rawValue
        self.name = name
        bytesPerPixel = bpp
        hasAlpha = alpha
        self.pixman = pixman
    }

    public static func == (a: PixelFormat, b: PixelFormat) -> Bool { a.shmCode == b.shmCode }
    public func hash(into h: inout Hasher) { h.combine(shmCode) }
}

/// A DRM fourcc code from its four characters, e.g. `fourccCode("XR24")`.
public func fourccCode(_ s: StaticString) -> UInt32 {
    precondition(s.utf8CodeUnitCount == 4)
    let p = s.utf8Start
    return UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
}
