import ClientKit
import Foundation
import Testing

/// Runs only inside the test VM on the drm-dumb backend (VMOutputTests boots it): SIGTERM while
/// this client holds an exported dma-buf frame and a screencopy waits for damage. compositord
/// exits 0 and removes its socket and lock; the screencopy gets `failed`; the exported dma-buf
/// outlives the compositor (the client owns its descriptor) and still reads the same bytes.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"
                    && ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] == "drm-dumb"))
struct ShutdownInVMTests {
    static let timeout = Duration.seconds(60)

    @Test func heldExportAndScreencopyInFlightAtSIGTERM() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let capturer = try OutputCapture(connection: connection, timeout: Self.timeout)
        let held = try capturer.captureHeld(timeout: Self.timeout)
        #expect(held.frame.isDmabuf, "\(held.frame.objects)")
        // The first copy has everything as damage; the second waits for damage that never comes.
        _ = try capturer.capture(.screencopy, withDamage: true, timeout: Self.timeout)

        c.expectShutdownFailsCapture(after: 3) { _ = try capturer.capture(.screencopy, withDamage: true, timeout: Self.timeout) }
        #expect(try held.rereadBytes() == held.bytes, "the exported dma-buf changed or vanished with the compositor")
        held.release()
    }
}
