import ClientKit

struct Size: Equatable {
    var width: Int
    var height: Int
}

/// The window's buffers at one size, and what is drawn into them. A new size (a full-screen
/// configure) gets a new canvas; the old buffers are destroyed with it, which the protocol
/// allows even while the compositor still shows one.
struct Canvas {
    let size: Size
    let buffers: BufferSet<ShmBuffer>
    let pattern: LoadPattern
    /// The frame each buffer last showed, so `bar` redraws erase that frame's bar.
    private var lastFrame: [ObjectIdentifier: Int] = [:]

    /// Buffers of `size` in one sealed-memfd pool, damage inset by `inset` on every side (clamped
    /// so at least one pixel stays damaged), each pre-filled with the background.
    init(size: Size, inset: Int, bufferCount: Int, shm: Shm) throws {
        self.size = size
        let border = min(inset, (min(size.width, size.height) - 1) / 2)
        pattern = LoadPattern(damage: (border, border, size.width - 2 * border, size.height - 2 * border))
        buffers = try BufferSet(shm: shm, width: size.width, height: size.height, format: .xrgb8888, count: bufferCount)
        for buffer in buffers.buffers {
            pattern.drawBackground(into: buffer.pixels, width: buffer.width, height: buffer.height, stride: buffer.stride)
        }
    }

    mutating func draw(_ frame: Int, into buffer: ShmBuffer, full: Bool) {
        let id = ObjectIdentifier(buffer)
        pattern.drawFrame(frame, previousFrame: lastFrame[id], into: buffer.pixels, stride: buffer.stride, full: full)
        lastFrame[id] = frame
    }
}
