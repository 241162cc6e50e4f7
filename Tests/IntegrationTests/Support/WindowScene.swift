import ClientKit
import Testing

/// A compositord (320×240 unless told) with a 64×64 window at (32, 32) that a test repaints.
final class WindowScene {
    let compositor: CompositorProcess
    let display: String
    let context: ClientContext
    let toplevel: Toplevel
    let buffers: BufferSet<ShmBuffer>
    private var next = 0

    init(_ arguments: [String] = ["--width", "320", "--height", "240"]) throws {
        compositor = try CompositorProcess(arguments)
        display = "\(compositor.runtime.path)/\(compositor.socketName)"
        context = try ClientContext(displayName: display, timeout: .seconds(30))
        toplevel = Toplevel(context: context, title: "ext-capture", appID: "test")
        try toplevel.waitForConfigure(timeout: .seconds(30)).orThrow(waitingFor: "configure")
        buffers = try BufferSet(shm: context.shm, width: 64, height: 64, count: 2)
    }

    /// Shows the window in `colour` (0xAARRGGBB) and waits for its frame callback.
    func show(_ colour: UInt32) throws {
        let b = buffers.buffers[next]
        next = 1 - next
        for p in 0..<(64 * 64) { b.pixels[p] = colour }
        let cb = try #require(toplevel.present(b))
        try context.connection.wait(timeout: .seconds(30)) { cb.isDone }.orThrow(waitingFor: "frame callback")
    }
}
