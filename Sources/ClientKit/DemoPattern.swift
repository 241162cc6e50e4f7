/// The demo client's test image, defined exactly so tests can predict composited pixels.
///
/// Pixels are XRGB8888 values `0xFFRRGGBB`, stored as little-endian UInt32. Four quadrants split
/// at `x = width / 2` and `y = height / 2`: red top-left, green top-right, blue bottom-left,
/// yellow bottom-right. In the rows `height * 3 / 8 ..< height * 5 / 8` only, a white bar
/// 16 px wide starts at `x = (frame * 4) % width`, clipped at the right edge (no wrap).
public enum DemoPattern {
    public static let red: UInt32 = 0xFFFF_0000
    public static let green: UInt32 = 0xFF00_FF00
    public static let blue: UInt32 = 0xFF00_00FF
    public static let yellow: UInt32 = 0xFFFF_FF00
    public static let white: UInt32 = 0xFFFF_FFFF
    public static let barWidth = 16

    /// The band of rows that holds the bar (integer division, left to right).
    public static func barRows(height: Int) -> Range<Int> {
        (height * 3 / 8)..<(height * 5 / 8)
    }

    /// The columns of the bar in `frame`, already clipped to the width.
    public static func barColumns(width: Int, frame: Int) -> Range<Int> {
        precondition(width > 0 && frame >= 0)
        let start = (frame * 4) % width
        return start..<min(start + barWidth, width)
    }

    /// The colour of the quadrant holding (x, y), ignoring the bar.
    public static func quadrantColor(x: Int, y: Int, width: Int, height: Int) -> UInt32 {
        let left = x < width / 2
        let top = y < height / 2
        switch (top, left) {
        case (true, true): return red
        case (true, false): return green
        case (false, true): return blue
        case (false, false): return yellow
        }
    }

    /// The expected pixel at (x, y) of `frame`.
    public static func color(x: Int, y: Int, width: Int, height: Int, frame: Int) -> UInt32 {
        if barRows(height: height).contains(y) && barColumns(width: width, frame: frame).contains(x) {
            return white
        }
        return quadrantColor(x: x, y: y, width: width, height: height)
    }

    /// Draws `frame` into `pixels`; `stride` is in bytes (a multiple of 4, at least width * 4).
    public static func draw(into pixels: UnsafeMutablePointer<UInt32>, width: Int, height: Int, stride: Int, frame: Int) {
        precondition(stride % 4 == 0 && stride >= width * 4, "stride must be a multiple of 4 and hold a row")
        let rowPixels = stride / 4
        let half = width / 2
        let band = barRows(height: height)
        let bar = barColumns(width: width, frame: frame)
        for y in 0..<height {
            let row = pixels + y * rowPixels
            let top = y < height / 2
            row.update(repeating: (top ? red : blue).littleEndian, count: half)
            (row + half).update(repeating: (top ? green : yellow).littleEndian, count: width - half)
            if band.contains(y) && !bar.isEmpty {
                (row + bar.lowerBound).update(repeating: white.littleEndian, count: bar.count)
            }
        }
    }

    /// Draws `frame` into a shared-memory buffer (no bracketing needed, so it cannot fail).
    public static func draw(into buffer: ShmBuffer, frame: Int) {
        draw(into: buffer.pixels, width: buffer.width, height: buffer.height, stride: buffer.stride, frame: frame)
    }

    /// Draws `frame` into any buffer; for a dma-buf the writes are bracketed by
    /// `DMA_BUF_IOCTL_SYNC` (see `WaylandBuffer.withMutablePixels`), which can fail.
    public static func draw(into buffer: WaylandBuffer, frame: Int) throws {
        try buffer.withMutablePixels { pixels in
            draw(into: pixels, width: buffer.width, height: buffer.height, stride: buffer.stride, frame: frame)
        }
    }
}
