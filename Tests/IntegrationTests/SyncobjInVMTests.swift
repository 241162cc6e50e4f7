import ClientKit
import CWayland
import Dispatch
import Foundation
import Glibc
import Testing

/// Issue 16, item 5: linux-drm-syncobj-v1 (explicit sync). Runs only inside the test VM booted
/// with virtio-gpu (VMOutputTests), whose driver has timeline syncobjs; vgem has none, and this
/// machine has no DRM device at all (there compositord does not advertise the global, which
/// `StockClientTests`-style checks on the host see).
///
/// The client's timelines are its own (`DrmSyncobjTimeline` on the virtio-gpu render node); its
/// buffers are udmabufs, and it signals acquire points itself, as a GPU finishing would.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["COMPOSITORD_VM_SYNCOBJ"] == "1"))
struct SyncobjInVMTests {
    static let timeout = Duration.seconds(60)
    static let red: UInt32 = 0xFFFF_0000, blue: UInt32 = 0xFF00_00FF

    /// A client with one 64x64 toplevel (at 32,32) with explicit sync on its surface.
    final class SyncedClient {
        let context: ClientContext
        let linuxDmabuf: LinuxDmabuf
        let syncobj: LinuxDrmSyncobj
        private(set) var toplevel: Toplevel!
        private(set) var sync: LinuxDrmSyncobj.SyncSurface!
        init(_ c: CompositorProcess) throws {
            context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: SyncobjInVMTests.timeout)
            linuxDmabuf = try context.linuxDmabuf(timeout: SyncobjInVMTests.timeout)
            syncobj = try LinuxDrmSyncobj(context: context)
            toplevel = Toplevel(context: context, title: "synced", appID: "test")
            sync = syncobj.surface(for: toplevel.surface)
            try toplevel.waitForConfigure(timeout: SyncobjInVMTests.timeout).orThrow(waitingFor: "configure")
        }
        /// Destroys the syncobj surface, the toplevel and its wl_surface.
        func destroyWindow() {
            sync = nil
            toplevel = nil
        }
        /// A 64x64 udmabuf filled with `color`.
        func buffer(_ color: UInt32) throws -> DmaBuffer {
            let dmabuf = try DmaBuf(width: 64, height: 64, strategy: .udmabuf)
            try dmabuf.withMutableBytes(.write) { bytes in
                let px = bytes.bindMemory(to: UInt32.self)
                for i in 0..<(dmabuf.stride / 4 * 64) { px[i] = color }
            }
            return try DmaBuffer(linuxDmabuf: linuxDmabuf, dmabuf: dmabuf)
        }
        /// A timeline of the client's own, imported.
        func timeline() throws -> (DrmSyncobjTimeline, LinuxDrmSyncobj.Timeline) {
            let t = try DrmSyncobjTimeline()
            let fd = try t.exportedFD()
            defer { try? fd.close() }
            return (t, syncobj.importTimeline(fd))
        }
        /// The protocol error that ends the connection within 10 s, if one does.
        func protocolError() throws -> ProtocolError? {
            do {
                _ = try context.connection.wait(timeout: .seconds(10)) { false }
            } catch let e as ProtocolError {
                return e
            }
            return nil
        }
    }

    /// Waits (dispatching) until `condition`, for up to 10 s.
    static func eventually(_ client: SyncedClient, _ condition: () -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline {
            try client.context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "roundtrip")
            usleep(20_000)
        }
        return condition()
    }

    /// The global is there (the VM has virtio-gpu); a commit waits for its acquire point to
    /// signal (the surface keeps its content, no frame callback, other clients keep their
    /// frames); the replaced buffer's release point is signalled once it is no longer read, and
    /// the shown buffer's is not.
    @Test func acquirePointHoldsTheCommitAndReleasePointSignalsOnceReplaced() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240", "--composite", "every-frame", "--fence-deadline", "60000"])
        #expect(c.log.contains("explicit sync (linux-drm-syncobj-v1) on /dev/dri/"), "\(c.log)")
        let client = try SyncedClient(c)
        let (acquire, acquireTimeline) = try client.timeline()
        let (releaseA, releaseATimeline) = try client.timeline()
        let (releaseB, releaseBTimeline) = try client.timeline()

        // A (blue), its acquire point signalled before the commit: shown at once (the first
        // window, at 32,32; the observer's comes second).
        let a = try client.buffer(Self.blue)
        try acquire.signal(1)
        client.sync.setAcquirePoint(acquireTimeline, 1)
        client.sync.setReleasePoint(releaseATimeline, 1)
        let cbA = try #require(client.toplevel.present(a))
        try client.context.connection.wait(timeout: Self.timeout) { cbA.isDone }.orThrow(waitingFor: "frame A")
        _ = try c.screenshot(timeout: 30) { $0.rgb(40, 40) == 0x0000FF }
        let observer = try DmabufFenceInVMTests.Observer(c)

        // B (red) waits for acquire point 2, which the client has not signalled.
        let b = try client.buffer(Self.red)
        client.sync.setAcquirePoint(acquireTimeline, 2)
        client.sync.setReleasePoint(releaseBTimeline, 1)
        let cbB = try #require(client.toplevel.present(b))
        try client.context.connection.roundtrip(timeout: Self.timeout).orThrow(waitingFor: "roundtrip")
        let during = try observer.run(seconds: 1.5)
        print("observer while an acquire point is pending: \(during.frames) frames in 1.5 s, longest gap \(Int(during.maxGapMs)) ms")
        #expect(during.maxGapMs < DmabufFenceInVMTests.maxGapMs, "the observer waited \(Int(during.maxGapMs)) ms for a frame")
        #expect(during.frames >= 10, "the observer got \(during.frames) frames in 1.5 s")
        try client.context.connection.roundtrip(timeout: Self.timeout).orThrow(waitingFor: "roundtrip")
        #expect(!cbB.isDone, "the frame callback of a commit waiting for its acquire point fired")
        let held = try c.screenshot()
        #expect(held.rgb(40, 40) == 0x0000FF, "the surface shows 0x\(String(held.rgb(40, 40), radix: 16)) while B waits, not A")
        #expect(!releaseA.isSignalled(1), "A's release point signalled while A is still shown")

        // The point signals: B is shown, and A's release point signals; B's does not.
        try acquire.signal(2)
        try client.context.connection.wait(timeout: Self.timeout) { cbB.isDone }.orThrow(waitingFor: "frame B after the signal")
        _ = try c.screenshot(timeout: 30) { $0.rgb(40, 40) == 0xFF0000 }
        #expect(try Self.eventually(client) { releaseA.isSignalled(1) }, "A's release point was not signalled after B replaced it")
        #expect(!releaseB.isSignalled(1), "B's release point signalled while B is shown")

        // The window goes: B is no longer read, so its release point signals too.
        client.destroyWindow()
        #expect(try Self.eventually(client) { releaseB.isSignalled(1) }, "B's release point was not signalled after its surface was destroyed")

        #expect(!c.log.contains("protocol error"), "\(c.log)")
        #expect(c.isRunning)
        let exit = c.terminate(timeout: 10)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
        // The exit summary counts the one held commit (B) and no deadline missed.
        #expect(exit.stderr.contains("held-commits=1 fence-deadlines-missed=0"), "\(exit.stderr.suffix(2000))")
    }

    /// An acquire point that never signals costs its client an error at the deadline (the read
    /// of its buffer never waits); everyone else goes on.
    @Test func acquirePointMissingTheDeadlineCostsTheClientAnError() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240", "--composite", "every-frame", "--fence-deadline", "500"])
        let client = try SyncedClient(c)
        let observer = try DmabufFenceInVMTests.Observer(c)
        let (_, acquireTimeline) = try client.timeline()
        let (_, releaseTimeline) = try client.timeline()
        client.sync.setAcquirePoint(acquireTimeline, 1)
        client.sync.setReleasePoint(releaseTimeline, 1)
        // A colour nothing else on the output has (the observer's window is the first mapped).
        let marker: UInt32 = 0xFF12_3456
        let a = try client.buffer(marker)
        client.toplevel.present(a)
        try client.context.connection.flush()
        let during = try observer.run(seconds: 1.5)
        #expect(during.maxGapMs < DmabufFenceInVMTests.maxGapMs, "the observer waited \(Int(during.maxGapMs)) ms for a frame")
        let e = try #require(try client.protocolError(), "no protocol error for an acquire point that never signalled; log:\n\(c.log)")
        #expect(e.interface == "wl_buffer" && e.message.contains("acquire point 1 not signalled") && e.message.contains("500 ms"), "\(e)")
        let shown = try c.screenshot().pixels.filter { $0 & 0xFF_FFFF == marker & 0xFF_FFFF }.count
        #expect(shown == 0, "the buffer was shown (\(shown) pixels of it)")
        let after = try observer.run(seconds: 0.5)
        #expect(after.frames >= 3)
        let exit = c.terminate(timeout: 10)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
        #expect(exit.stderr.contains("held-commits=1 fence-deadlines-missed=1"), "\(exit.stderr.suffix(2000))")
    }

    /// Every error the spec names, each on a client of its own; compositord and an observer
    /// client carry on after all of them.
    @Test func everySpecErrorIsRaised() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let observer = try DmabufFenceInVMTests.Observer(c)
        // Each case returns what must outlive it until the error arrives (a proxy destroyed
        // before that would turn the error's object into "[destroyed object]").
        typealias Case = (name: String, interface: String, code: UInt32, act: (SyncedClient) throws -> [AnyObject])
        let cases: [Case] = [
            ("a memfd as a timeline", "wp_linux_drm_syncobj_manager_v1", 1, { client in
                let fd = cw_memfd_create("not-a-syncobj", 0)
                defer { close(fd) }
                return [client.syncobj.importTimeline(.init(rawValue: fd))]
            }),
            ("a second syncobj surface", "wp_linux_drm_syncobj_manager_v1", 0, { client in
                return [client.syncobj.surface(for: client.toplevel.surface)]
            }),
            ("points without a buffer", "wp_linux_drm_syncobj_surface_v1", 3, { client in
                let (_, t) = try client.timeline()
                client.sync.setAcquirePoint(t, 1)
                client.toplevel.surface.commit()
                return [t]
            }),
            ("a buffer without an acquire point", "wp_linux_drm_syncobj_surface_v1", 4, { client in
                let (_, t) = try client.timeline()
                client.sync.setReleasePoint(t, 1)
                let b = try client.buffer(Self.red)
                client.toplevel.present(b)
                return [t, b]
            }),
            ("a buffer without a release point", "wp_linux_drm_syncobj_surface_v1", 5, { client in
                let (_, t) = try client.timeline()
                client.sync.setAcquirePoint(t, 1)
                let b = try client.buffer(Self.red)
                client.toplevel.present(b)
                return [t, b]
            }),
            ("release not after acquire on one timeline", "wp_linux_drm_syncobj_surface_v1", 6, { client in
                let (_, t) = try client.timeline()
                client.sync.setAcquirePoint(t, 5)
                client.sync.setReleasePoint(t, 5)
                let b = try client.buffer(Self.red)
                client.toplevel.present(b)
                return [t, b]
            }),
            ("a wl_shm buffer", "wp_linux_drm_syncobj_surface_v1", 2, { client in
                let (_, t) = try client.timeline()
                client.sync.setAcquirePoint(t, 1)
                client.sync.setReleasePoint(t, 2)
                let shm = try BufferSet(shm: client.context.shm, width: 64, height: 64, count: 1)
                client.toplevel.present(shm.buffers[0])
                return [t, shm]
            }),
            ("a point after the wl_surface is gone", "wp_linux_drm_syncobj_surface_v1", 1, { client in
                let (_, t) = try client.timeline()
                var surface: Surface? = Surface(context: client.context)
                let sync = client.syncobj.surface(for: surface!)
                surface = nil
                sync.setAcquirePoint(t, 1)
                return [sync, t]
            }),
        ]
        for (name, interface, code, act) in cases {
            let client = try SyncedClient(c)
            var error: ProtocolError?
            do {
                let keep = try act(client)
                error = try client.protocolError()
                withExtendedLifetime(keep) {}
            } catch let e as ProtocolError {
                error = e
            }
            let e = try #require(error, "\(name): no protocol error; log:\n\(c.log)")
            print("\(name): \(e)")
            #expect(e.interface == interface && e.code == code, "\(name): \(e)")
            #expect(e.message.utf8.count < 127, "\(name): the message was cut: \(e.message)")
        }
        let after = try observer.run(seconds: 0.5)
        #expect(after.frames >= 3)
        #expect(c.isRunning)
        let exit = c.terminate(timeout: 10)
        #expect(exit.status == 0 && !exit.timedOut, "compositord exit \(exit.status)\n\(exit.stderr)")
    }
}
