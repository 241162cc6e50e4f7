import Foundation
import Testing

/// Boots the test VM (udmabuf, the system dma-heap and a vgem card) and runs DmabufInVMTests,
/// DmabufFenceInVMTests and HugetlbInVMTests (which gives the VM's kernel huge pages) there with
/// this very test binary: the host-built compositord and demo-client, unchanged.
@Suite(.enabled(if: !VM.skipRequested, "COMPOSITORD_SKIP_VM=1"))
struct VMDmabufTests {
    @Test func dmabufTestsPassInsideTheVM() throws {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let r = try VM.run(devices: [.vgem], memoryMB: 1536, environment: ["COMPOSITORD_IN_VM": "1"], timeout: 900,
                           command: [testBinary, "--testing-library", "swift-testing", "--filter", "DmabufInVMTests|HugetlbInVMTests|DmabufFenceInVMTests"])
        // Swift Testing reports on stderr.
        let output = r.stdout + r.stderr
        let summary = output.split(separator: "\n").last { $0.contains("Test run with") } ?? "no summary"
        #expect(r.status == 0, "inside the VM:\n\(output.suffix(8000))")
        #expect(summary.contains("passed"), "\(summary)")
        // Both tests ran (not skipped): three exporters and the hostile modes.
        for test in ["dmabufClientRendersItsPattern(source:)", "hostileDmabufModesLeaveOthersRendering()",
                     "asyncCreateAnswersCreatedAndFeedbackNamesTheDevice()", "dmabufsPastTheClientMemoryCapAreRefusedAtImport()",
                     "aHugetlbHoleIsCaughtByTheGuard()",
                     // Issue 16: vgem fences (DmabufFenceInVMTests).
                     "fencedCommitIsHeldUntilTheFenceSignals(fenceWait:)", "fenceMissingTheDeadlineCostsTheClientAnError()",
                     "screencopyIntoAFencedDmabufNeverBlocks()", "parentCommitWaitsForItsSynchronizedSubsurfacesHeldCommit()",
                     "fenceOnAnExportedOutputBufferDoesNotStallCompositing()", "floodOfHeldCommitsIsCapped()",
                     "fenceAddedAfterTheCommitIsNotWaitedFor()", "subsurfacePositionAppliesWithTheHeldParentCommit()"] {
            #expect(output.contains(test), "\(test) did not run")
        }
        #expect(!output.contains("skipped"), "\(summary)")
    }
}
