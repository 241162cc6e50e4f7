import ClientKit
import Foundation
import Testing

/// Runs only inside the test VM on the drm-dumb backend (VMOutputTests boots it): SIGTERM while
/// this client holds an exported dma-buf frame and a screencopy waits for damage. compositord
/// exits 0 and removes its socket and lock; the screencopy gets `failed`; the held frame (taken
/// while demo-client's window was on screen, which has gone since) keeps its bytes through the
/// shutdown: compositord never draws into a buffer a consumer holds, not even on its way out.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"
                    && ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] == "drm-dumb"))
struct ShutdownInVMTests {
    static let timeout = Duration.seconds(60)

    @Test func heldExportAndScreencopyInFlightAtSIGTERM() throws {
        let (c, window) = try CaptureInVMTests.compositorWithWindow()
        let connection = try Connection(displayName: "\(c.runtime.path)/\(c.socketName)")
        let capturer = try OutputCapture(connection: connection, timeout: Self.timeout)
        let held = try capturer.captureHeld(timeout: Self.timeout)
        #expect(held.frame.isDmabuf, "\(held.frame.objects)")
        // The window goes; once its damage is taken, a copy with damage waits for damage that
        // never comes.
        window.signal(SIGKILL)
        window.wait(timeout: 10)
        capturer.takeDamageUntilQuiet(.seconds(2))

        c.expectShutdownFailsCapture(after: 3) { _ = try capturer.capture(.screencopy, withDamage: true, timeout: Self.timeout) }
        #expect(try held.rereadBytes() == held.bytes, "the exported dma-buf changed or vanished with the compositor")
        held.release()
    }
}
