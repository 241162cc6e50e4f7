/// What the load client draws: a frame (border) drawn once per buffer, and inside it the damaged
/// rectangle, repainted every frame with a colour that changes per frame and a 16-pixel white
/// bar moving 4 px per frame, like weston-simple-shm's animated inner square.
struct LoadPattern {
    static let border: UInt32 = 0xFF30_3040
    static let bar: UInt32 = 0xFFFF_FFFF
    static let barWidth = 16

    /// The rectangle repainted and damaged each frame, in buffer pixels.
    let damage: (x: Int, y: Int, width: Int, height: Int)

    /// Fills the whole buffer (rows `stride` bytes apart) with the border colour, and the damage
    /// rectangle with the first frame's colour.
    func drawBackground(into pixels: UnsafeMutablePointer<UInt32>, width: Int, height: Int, stride: Int) {
        for y in 0..<height {
            let row = pixels + y * (stride / 4)
            row.update(repeating: Self.border.littleEndian, count: width)
            if y >= damage.y && y < damage.y + damage.height {
                (row + damage.x).update(repeating: Self.fill(frame: 0).littleEndian, count: damage.width)
            }
        }
    }

    /// With `full`, repaints the whole damage rectangle (a plain fill per row: the client must
    /// not be the bottleneck); otherwise only the bar and the columns of the bar this buffer
    /// last showed (`previousFrame`), so a full-screen window damaged whole costs the client
    /// almost nothing while the compositor still composites every pixel.
    func drawFrame(_ frame: Int, previousFrame: Int?, into pixels: UnsafeMutablePointer<UInt32>, stride: Int, full: Bool) {
        let rowPixels = stride / 4
        let fill = Self.fill(frame: full ? frame : 0).littleEndian
        let bar = barColumns(frame: frame)
        let oldBar = previousFrame.map(barColumns(frame:)) ?? 0..<0
        for y in damage.y..<(damage.y + damage.height) {
            let row = pixels + y * rowPixels + damage.x
            if full {
                row.update(repeating: fill, count: damage.width)
            } else {
                (row + oldBar.lowerBound).update(repeating: fill, count: oldBar.count)
            }
            (row + bar.lowerBound).update(repeating: Self.bar.littleEndian, count: bar.count)
        }
    }

    /// Columns of the bar within the damage rectangle, clipped at its right edge.
    func barColumns(frame: Int) -> Range<Int> {
        let start = (frame * 4) % damage.width
        return start..<min(start + Self.barWidth, damage.width)
    }

    /// A dim colour cycling with the frame number.
    static func fill(frame: Int) -> UInt32 {
        let level = UInt32(truncatingIfNeeded: 0x40 + (frame % 64) * 2)
        return 0xFF00_0000 | (level << 16) | (0x20 << 8) | (0xFF - level)
    }
}
