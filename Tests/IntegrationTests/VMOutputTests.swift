import Foundation
import Testing

/// The output backend chain on real devices: vgem and virtio-gpu give `drm-dumb`; with no DRM
/// module loaded the chain falls back to `udmabuf`. Each boot runs OutputInVMTests in the VM.
@Suite(.enabled(if: !VM.skipRequested, "COMPOSITORD_SKIP_VM=1"))
struct VMOutputTests {
    @Test(arguments: [("vgem", "drm-dumb"), ("virtio-gpu", "drm-dumb"), ("none", "udmabuf")])
    func outputBackendInTheVM(devices: String, backend: String) throws {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let list: [VM.Device] = devices == "vgem" ? [.vgem] : devices == "virtio-gpu" ? [.virtioGPU] : []
        let r = try VM.run(devices: list, memoryMB: 1536,
                           environment: ["COMPOSITORD_IN_VM": "1", "COMPOSITORD_VM_EXPECT_BACKEND": backend,
                                         // virtio-gpu has timeline syncobjs: explicit sync (SyncobjInVMTests).
                                         "COMPOSITORD_VM_SYNCOBJ": devices == "virtio-gpu" ? "1" : "0"], timeout: 900,
                           command: [testBinary, "--testing-library", "swift-testing", "--filter", "OutputInVMTests|CaptureInVMTests|FdIsolationInVMTests|ShutdownInVMTests|SyncobjInVMTests"])
        let output = r.stdout + r.stderr
        #expect(r.status == 0, "inside the VM (\(devices)):\n\(output.suffix(8000))")
        #expect(output.contains("backendAndExportedFramePixels()"), "did not run")
        #expect(!output.contains("Suite OutputInVMTests skipped"), "\(output.suffix(2000))")
        if backend == "drm-dumb" {
            #expect(output.contains("heldExportedFrameIsNeverOverwritten()") && !output.contains("Suite CaptureInVMTests skipped"), "capture tests did not run")
            #expect(output.contains("exportDmabufAndScreencopyOfEachOutput()"), "the per-output capture test did not run")
            #expect(output.contains("heldExportAndScreencopyInFlightAtSIGTERM()") && !output.contains("Suite ShutdownInVMTests skipped"), "shutdown test did not run")
        }
        if devices == "virtio-gpu" {
            for test in ["acquirePointHoldsTheCommitAndReleasePointSignalsOnceReplaced()", "acquirePointMissingTheDeadlineCostsTheClientAnError()",
                         "everySpecErrorIsRaised()"] {
                #expect(output.contains(test) && !output.contains("Suite SyncobjInVMTests skipped"), "\(test) did not run")
            }
        }
        if backend == "udmabuf" {
            #expect(output.contains("exportedFdIsTheOutputBufferNeverAClientPool()") && !output.contains("Suite FdIsolationInVMTests skipped"),
                    "the fd isolation test did not run")
        }
    }
}
