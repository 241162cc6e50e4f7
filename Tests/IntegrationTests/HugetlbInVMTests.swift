import ClientKit
import Foundation
import Glibc
import Testing

/// Runs only inside the test VM (VMDmabufTests boots it with COMPOSITORD_IN_VM=1), where the
/// test may give the kernel huge pages: `demo-client --misbehave hugetlb-hole` with free huge
/// pages (issue 16). The host has none, so there the mode only reaches the refused mmap.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_IN_VM"] == "1"))
struct HugetlbInVMTests {
    static func setHugePages(_ n: Int) -> Bool {
        let fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let text = Array("\(n)\n".utf8)
        return write(fd, text, text.count) == text.count
    }

    /// A sealed hugetlb pool whose page the client faulted in, punched out and whose free huge
    /// pages it took: the composite a screencopy asks for faults on the pool. compositord reads
    /// hugetlbfs pools only under its SIGBUS guard, so it survives; the client gets wl_buffer 2
    /// and an observer keeps rendering.
    @Test func aHugetlbHoleIsCaughtByTheGuard() throws {
        #expect(Self.setHugePages(4))
        defer { _ = Self.setHugePages(0) }
        try #require(SealPolicyMatrixTests.freeHugePages == 4, "nr_hugepages did not take")
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let observer = try c.start("demo-client", tag: "observer")
        defer { observer.signal(SIGKILL); observer.wait(timeout: 10) }
        _ = try c.screenshot(timeout: 60) { $0.rgb(96, 96) == 0xFF0000 }
        let fds = ProcStat.fdCount(c.child.pid)

        let r = try c.run("demo-client", ["--misbehave", "hugetlb-hole"], timeout: 120, tag: "hugetlb-hole")
        print("hugetlb-hole in the VM: \(r.stdout) \(r.stderr)")
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("punched it out (done) and took 4 free huge pages"), "\(r.stdout)")
        #expect(r.stderr.contains("protocol error: wl_buffer@") && r.stderr.contains(" code 2: "), "\(r.stderr)")
        #expect(c.isRunning, "compositord died")
        #expect(c.log.contains("SIGBUS caught reading a pool") && c.log.contains("class=hugetlb-file"), "\(c.log.suffix(2000))")
        let deadline = Date().addingTimeInterval(10)
        while ProcStat.fdCount(c.child.pid) != fds, Date() < deadline { usleep(20_000) }
        #expect(ProcStat.fdCount(c.child.pid) == fds)
        let a = try c.screenshot()
        let b = try c.screenshot(timeout: 30) { shot in (32..<288).contains { shot.rgb($0, 160) != a.rgb($0, 160) } }
        #expect((32..<288).contains { a.rgb($0, 160) != b.rgb($0, 160) }, "the observer froze")
        observer.signal(SIGINT)
        #expect(observer.wait(timeout: 30).status == 0)
        #expect(c.terminate().status == 0)
    }
}
