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
        let socket = "\(c.runtime.path)/\(c.socketName)"
        let connection = try Connection(displayName: socket)
        let capturer = try OutputCapture(connection: connection, timeout: Self.timeout)
        let held = try capturer.captureHeld(timeout: Self.timeout)
        #expect(held.frame.isDmabuf, "\(held.frame.objects)")
        // The first copy has everything as damage; the second waits for damage that never comes.
        _ = try capturer.capture(.screencopy, withDamage: true, timeout: Self.timeout)

        let pid = c.child.pid
        Thread.detachNewThread {
            usleep(3_000_000)
            kill(pid, SIGTERM)
        }
        let started = Date()
        #expect(throws: CaptureError.failed) { try capturer.capture(.screencopy, withDamage: true, timeout: Self.timeout) }
        #expect(Date().timeIntervalSince(started) > 2.0, "the copy ended before the SIGTERM: it was not in flight")
        let r = c.child.wait(timeout: 60)
        #expect(r.status == 0, "compositord exit \(r.status): \(r.stderr.suffix(2000))")
        #expect(access(socket, F_OK) != 0 && access(socket + ".lock", F_OK) != 0, "socket or lock left behind")
        #expect(try held.rereadBytes() == held.bytes, "the exported dma-buf changed or vanished with the compositor")
        held.release()
    }
}
