import Foundation
import Testing

/// scripts/vm/run itself (docs/vm.md): one boot checks the devices, the exit code, the streams,
/// the environment, the working directory, and which writes reach the host.
@Suite(.enabled(if: !VM.skipRequested, "COMPOSITORD_SKIP_VM=1"))
struct VMTests {
    @Test func bootWithDevicesExitCodeStreamsAndWritableDirectory() throws {
        // Under /tmp: the VM sees the host's / (read-only) but has its own /dev/shm.
        let writable = RuntimeDir(parent: "/tmp"), readOnly = RuntimeDir(parent: "/tmp")
        let script = """
            for f in /dev/dri/card* /dev/udmabuf /dev/dma_heap/system; do [ -c "$f" ] && echo "device $f"; done
            cat /sys/class/drm/card*-Virtual-1/status
            echo "token $VM_TEST_TOKEN"
            echo "pwd $(pwd)"
            echo "stdin $(cat)"
            echo from-the-vm > \(writable.path)/out.txt
            echo thrown-away > \(readOnly.path)/out.txt && echo "overlay write ok"
            echo to-stderr >&2
            exit 7
            """
        let token = "a b 'c' $d"
        let r = try VM.run(devices: [.vgem, .virtioGPU], rw: [writable.path],
                           environment: ["VM_TEST_TOKEN": token], timeout: 240,
                           command: ["sh", "-c", script])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.status == 7, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        // vgem and virtio-gpu: two cards; udmabuf and the system heap are always there.
        #expect(lines.filter { $0.hasPrefix("device /dev/dri/card") }.count == 2, "\(lines)")
        #expect(lines.contains("device /dev/udmabuf"))
        #expect(lines.contains("device /dev/dma_heap/system"))
        #expect(lines.contains("connected"), "virtio-gpu's connector")
        #expect(lines.contains("token \(token)"))
        #expect(lines.contains("pwd \(FileManager.default.currentDirectoryPath)"))
        #expect(lines.contains("stdin "))
        #expect(lines.contains("overlay write ok"))
        #expect(r.stderr.contains("to-stderr") && !r.stdout.contains("to-stderr"))
        // Writes reach the host only in --rw directories.
        #expect(FileManager.default.contents(atPath: "\(writable.path)/out.txt") == Data("from-the-vm\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: "\(readOnly.path)/out.txt"))
    }
}
