import Foundation
import Testing

/// Runs only inside the test VM on the udmabuf output (VMOutputTests' "none" boot): there the
/// output is a real dma-buf, so export-dmabuf hands the capturing client an fd. It must be the
/// compositor's output buffer and never a client's pool (SecurityTests.checkFdIsolation).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"
                    && ProcessInfo.processInfo.environment["COMPOSITORD_VM_EXPECT_BACKEND"] == "udmabuf"))
struct FdIsolationInVMTests {
    @Test func exportedFdIsTheOutputBufferNeverAClientPool() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        #expect(c.child.stdout.hasPrefix("output: udmabuf "), "\(c.child.stdout)")
        try SecurityTests.checkFdIsolation(c, expectExport: true)
    }
}
