import CWayland
import Glibc

/// DRM_FORMAT_MOD_LINEAR: the only layout a CPU renderer can read.
public let drmFormatModLinear: UInt64 = 0

/// The (format, modifier) pairs compositord imports as dma-bufs: every format the renderer
/// composites, linear only; and the linux-dmabuf v4 format table that lists them: 16-byte
/// entries (u32 format, u32 padding, u64 modifier) in a sealed, read-only memfd
/// (SHRINK|GROW|WRITE|SEAL), so a client can map it and no one can change or shrink it.
package final class DmabufFormatTable {
    package struct Entry: Equatable {
        package let format: UInt32
        package let modifier: UInt64
    }

    package let entries: [Entry]
    package let file: SealedFile

    package init() throws {
        entries = PixelFormat.all.map { Entry(format: $0.drmFourcc, modifier: drmFormatModLinear) }
        var bytes: [UInt8] = []
        for e in entries {
            withUnsafeBytes(of: e.format.littleEndian) { bytes += $0 }
            bytes += [0, 0, 0, 0]
            withUnsafeBytes(of: e.modifier.littleEndian) { bytes += $0 }
        }
        file = try SealedFile(name: "compositord-dmabuf-formats", contents: bytes)
    }

    package func contains(format: UInt32, modifier: UInt64) -> Bool {
        entries.contains(Entry(format: format, modifier: modifier))
    }

    package var size: UInt32 { UInt32(file.size) }
}
