import ClientKit

/// One rendering client: its own connection, a 250x250 XRGB8888 toplevel redrawn (the demo
/// pattern with its moving bar) and wholly damaged on every frame callback, like weston-simple-shm.
/// Each buffer is painted whole once; later frames repaint only the bar's old and new columns, so
/// hundreds of windows in one process cost the compositor (which composites the whole damage)
/// far more than this client.
///
/// It does not block: `step()` commits the next frame when the last one's callback has come and
/// a buffer is free, and a shared `ConnectionPoll` loop dispatches its events.
final class Renderer {
    static let size = 250

    let context: ClientContext
    private let toplevel: Toplevel
    private let buffers: BufferSet<ShmBuffer>
    private var callback: Callback?
    private var frameIndex = 0
    /// The frame each buffer last showed (nil: never painted).
    private var shownFrame: [ObjectIdentifier: Int] = [:]
    /// Frame callbacks received.
    private(set) var frames = 0
    /// When set, the renderer is dropped abruptly (churn) once this many frames completed.
    var lifetimeFrames: Int?

    var connection: Connection { context.connection }

    /// Connects and binds (two roundtrips), then creates the window; the first configure arrives
    /// through the shared loop.
    init(displayName: String?, timeout: Duration) throws {
        context = try ClientContext(displayName: displayName, timeout: timeout)
        buffers = try BufferSet(shm: context.shm, width: Self.size, height: Self.size, format: .xrgb8888, count: 3)
        toplevel = Toplevel(context: context, title: "stress-client", appID: "stress-client")
        try context.connection.flush()
    }

    var isConfigured: Bool { toplevel.isConfigured }
    var closeRequested: Bool { toplevel.closeRequested }

    /// True once `lifetimeFrames` frames completed.
    var lifetimeOver: Bool { lifetimeFrames.map { frames >= $0 } ?? false }

    /// Commits the next frame if the previous one completed and a buffer is free. Returns true
    /// when it committed.
    @discardableResult
    func step() -> Bool {
        guard toplevel.isConfigured, !toplevel.closeRequested else { return false }
        if let callback {
            guard callback.isDone else { return false }
            frames += 1
            self.callback = nil
        }
        // Never draw into a buffer the compositor may still be reading.
        guard let buffer = buffers.freeBuffer() else { return false }
        draw(frameIndex, into: buffer)
        callback = toplevel.present(buffer)
        frameIndex += 1
        // Sent now; a full socket (EAGAIN) is retried by the next poll turn.
        try? connection.flush()
        return true
    }

    private func draw(_ frame: Int, into buffer: ShmBuffer) {
        let id = ObjectIdentifier(buffer)
        defer { shownFrame[id] = frame }
        guard let previous = shownFrame[id] else { return DemoPattern.draw(into: buffer, frame: frame) }
        let width = buffer.width, height = buffer.height, rowPixels = buffer.stride / 4, half = width / 2
        let old = DemoPattern.barColumns(width: width, frame: previous)
        let new = DemoPattern.barColumns(width: width, frame: frame)
        // The old bar's columns go back to the quadrant colours (left and right of the middle).
        let oldLeft = old.clamped(to: 0..<half), oldRight = old.clamped(to: half..<width)
        // Plain integers out of the loop: generic Range calls dominate an unoptimized build.
        let spans = [(oldLeft.lowerBound, oldLeft.count), (oldRight.lowerBound, oldRight.count), (new.lowerBound, new.count)]
        let colours = (top: [DemoPattern.red, DemoPattern.green, DemoPattern.white].map(\.littleEndian),
                       bottom: [DemoPattern.blue, DemoPattern.yellow, DemoPattern.white].map(\.littleEndian))
        let pixels = buffer.pixels
        let band = DemoPattern.barRows(height: height)
        var y = band.lowerBound
        while y < band.upperBound {
            let row = pixels + y * rowPixels
            let colour = y < height / 2 ? colours.top : colours.bottom
            for i in 0..<3 where spans[i].1 > 0 { (row + spans[i].0).update(repeating: colour[i], count: spans[i].1) }
            y += 1
        }
    }

    /// Commits one more frame (whatever the buffers' state: the compositor may be reading them)
    /// and sends it, so that dropping the renderer right after leaves a commit in flight.
    func commitInFlight() {
        guard toplevel.isConfigured, let buffer = buffers.freeBuffer() ?? buffers.buffers.first else { return }
        _ = toplevel.present(buffer)
        try? connection.flush()
    }
}
