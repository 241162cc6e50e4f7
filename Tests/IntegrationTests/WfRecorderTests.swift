import Foundation
import Glibc
import PNG
import Testing

/// Issue 18, item 5: wf-recorder (Debian 12's 0.3, package wf-recorder) records compositord's
/// 1920×1080 output at its full 60 frames a second while a client changes every frame.
///
/// wf-recorder 0.3 captures through `zwlr_screencopy_manager_v1.copy_with_damage` (a new copy is
/// asked for once the previous one is `ready`, into 16 `wl_shm` buffers it rotates through), stamps
/// each frame with the `ready` event's time, and encodes on another thread. It makes its pools
/// with `mkstemp("/tmp/wf-recorder-shared-XXXXXX")`, a path it does not let one change: a file
/// on whatever /tmp is. Where /tmp is tmpfs (shared memory) compositord's default seal policy
/// accepts them (written under the SIGBUS guard, as `shm_open` files); where /tmp is a disk
/// (Debian 12's default) `enforce` takes them as capture targets only, written by each pool's
/// writer thread (a write into a disk file can wait for the disk; the main thread never does).
/// Both run under the default flags; `strictPolicyRefusesItsPoolsOnADiskTmp` checks that the
/// lint mode refuses them, with compositord and its other client carrying on.
///
/// The held export-dmabuf frame (never drawn into) is covered where there is a dma-buf output:
/// `CaptureInVMTests.heldExportedFrameIsNeverOverwritten` (VM, drm-dumb) and, for the renderer,
/// `RendererTests.heldFramebufferIsNeverRedrawn`; this host's memfd output cancels export-dmabuf
/// (`CaptureTests.exportDmabufCancelsOnMemfdAndScreencopyCopies`).
@Suite(.serialized) struct WfRecorderTests {
    static let wfRecorder = "/usr/bin/wf-recorder"
    static let ffprobe = "/usr/bin/ffprobe"
    static let ffmpeg = "/usr/bin/ffmpeg"

    /// wf-recorder's pools are files in /tmp: shared memory only where /tmp is tmpfs.
    static let tmpIsSharedMemory = fileSystemType(atPath: "/tmp") == 0x0102_1994

    /// How long wf-recorder records, and how much of its start is left out of the rate (its first
    /// frames wait for the encoder to be set up: gaps of 2 to 3 vblanks were measured there).
    static let recordSeconds = 5.0
    static let startupSeconds = 1.0

    /// The floor for the average frame rate over the recording after its first second. The output
    /// refreshes at 60 Hz and demo-client changes its window every frame, so each vblank has
    /// damage and a compositor that delivers every frame gives 60 (measured on 2 cores: 60.0,
    /// every interval one vblank). Each vblank a copy misses costs 1/60 of that; 55 leaves room
    /// for 5 missed vblanks a second (scheduling on a loaded 2-core CI machine, wf-recorder's
    /// encoder thread falling behind for a moment), while a compositor that makes a copy wait one
    /// vblank too many, or delivers every other frame, gives 30. Under a sanitizer compositord
    /// runs many times slower: there the floor only says frames keep coming (not measured).
    static let fpsFloor = Sanitizer.isActive ? 20.0 : 55.0

    /// Frame presentation times of the first video stream, in seconds, in order.
    static func frameTimes(_ path: String, _ c: CompositorProcess) throws -> [Double] {
        let r = try c.run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", path],
                          timeout: 120, tag: "ffprobe-frames")
        try #require(r.status == 0, "ffprobe failed: \(r.stderr)")
        // One line per frame; a frame with side data gets a trailing comma.
        return r.stdout.split(separator: "\n").compactMap { line in
            line.split(separator: ",").first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
    }

    @Test func recordsTheFullHDOutputAt60FramesASecond() throws {
        try ApplicationSession.require(Self.wfRecorder, package: "wf-recorder")
        try ApplicationSession.require(Self.ffprobe, package: "ffmpeg")
        let stats = RuntimeDir()
        let statsPath = "\(stats.path)/stats.json"
        // Default flags: size 1920×1080, refresh 60 Hz, seal policy enforce.
        let c = try CompositorProcess(["--stats", statsPath])
        let output = c.child.stdout.split(separator: "\n").first ?? ""
        #expect(output.hasSuffix(" 1920x1080 XRGB8888"), "\(output)")

        // A 256×256 window at (32, 32): quadrants, and a white bar moving 4 px every frame.
        let client = try c.start("demo-client", tag: "demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        _ = try c.screenshot(timeout: 30) { $0.rgb(96, 96) == 0xFF0000 && $0.rgb(224, 224) == 0xFFFF00 }

        // The cheapest encoding that keeps up on 2 cores: H.264 in RGB (no conversion to YUV),
        // x264's fastest preset, about half a core. libx264 (converting to YUV 4:4:4) took a whole
        // core even at preset=ultrafast and recorded 53.5 fps: the encoder, not compositord.
        let video = "\(c.runtime.path)/recording.mkv"
        let recorder = try c.start(Self.wfRecorder, ["-c", "libx264rgb", "-x", "bgr0", "-p", "preset=ultrafast", "-f", video],
                                   tag: "wf-recorder")
        let started = Date()
        while Date().timeIntervalSince(started) < Self.recordSeconds, recorder.isRunning { usleep(100_000) }
        #expect(recorder.isRunning, "wf-recorder exited early:\n\(recorder.stderr)\ncompositord log:\n\(String(c.log.suffix(3000)))")
        // SIGINT is wf-recorder's "stop": it finishes the file.
        recorder.signal(SIGINT)
        let r = recorder.wait(timeout: 60)
        #expect(!r.timedOut, "wf-recorder did not finish within 60 s of SIGINT:\n\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: video), "no recording; wf-recorder exit \(r.status):\n\(r.stderr)")

        let probe = try c.run(Self.ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
                                             "-of", "csv=p=0", video], timeout: 60, tag: "ffprobe-stream")
        #expect(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "h264,1920,1080",
                "stream: \(probe.stdout) \(probe.stderr)")

        // The rate: frames after the first second, over the time they span.
        let times = try Self.frameTimes(video, c)
        try #require(times.count > 10, "\(times.count) frames recorded; wf-recorder:\n\(r.stderr)")
        let start = times[0] + Self.startupSeconds
        let steady = times.filter { $0 >= start }
        try #require(steady.count > 10, "\(steady.count) frames after the first second")
        let span = steady[steady.count - 1] - steady[0]
        let fps = Double(steady.count - 1) / span
        var gaps: [Int: Int] = [:]  // interval in vblanks → how many
        for (a, b) in zip(steady, steady.dropFirst()) { gaps[Int(((b - a) * 60).rounded()), default: 0] += 1 }
        let gapSummary = gaps.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        print("wf-recorder: \(times.count) frames in \(String(format: "%.2f", times[times.count - 1] - times[0])) s; after the first second "
              + "\(steady.count) frames in \(String(format: "%.2f", span)) s = \(String(format: "%.1f", fps)) fps "
              + "(intervals in vblanks: \(gapSummary))")
        #expect(fps >= Self.fpsFloor, "\(String(format: "%.1f", fps)) fps (intervals in vblanks: \(gapSummary))")

        // The recording is the screen: a frame from the middle shows the window's quadrants
        // (lossy H.264: colours within a tolerance).
        let still = "\(c.runtime.path)/still.png"
        let extract = try c.run(Self.ffmpeg, ["-v", "error", "-y", "-ss", "2", "-i", video, "-frames:v", "1", "-pix_fmt", "rgb24", still],
                                timeout: 120, tag: "ffmpeg-still")
        #expect(extract.status == 0, "\(extract.stderr)")
        if extract.status == 0 {
            let shot = try PNGImage(bytes: [UInt8](try #require(FileManager.default.contents(atPath: still))))
            #expect(shot.width == 1920 && shot.height == 1080)
            for (x, y, rgb) in [(96, 96, 0xFF0000), (224, 96, 0x00FF00), (96, 224, 0x0000FF), (224, 224, 0xFFFF00),
                                (1000, 600, ApplicationSession.background)] as [(Int, Int, UInt32)] {
                #expect(Colour.close(shot.rgb(x, y), rgb, tolerance: 24), "(\(x), \(y)) is \(Colour.hex(shot.rgb(x, y))), expected \(Colour.hex(rgb))")
            }
        }

        client.signal(SIGINT)
        client.wait(timeout: 10)
        let end = c.terminate(timeout: 30)
        #expect(end.status == 0 && !end.timedOut, "compositord exit \(end.status)\n\(String(end.stderr.suffix(3000)))")
        #expect(!end.stderr.contains("protocol error"), "\(String(end.stderr.suffix(3000)))")
        #expect(!end.stderr.contains("pool refused"), "\(String(end.stderr.suffix(3000)))")
        let summary = end.stderr.split(separator: "\n").filter { $0.contains("compositor shut down") || $0.contains("seal policy ") }
            .map { String($0.split(separator: "compositord: ").last ?? $0) }
        print("wf-recorder: compositord default flags, /tmp \(Self.tmpIsSharedMemory ? "tmpfs" : "a disk"): \(summary.joined(separator: "; "))")
        // Its pools were judged as what /tmp is: disk files (capture targets only) or shm files.
        let judged = String(decoding: try #require(FileManager.default.contents(atPath: statsPath)), as: UTF8.self)
        #expect(judged.contains(Self.tmpIsSharedMemory ? "\"shm-file\"" : "\"disk-file\""), "\(judged)")
    }

    /// Where /tmp is a disk, wf-recorder's pool (a file there) is refused under `--seal-policy
    /// strict` (every pool must carry F_SEAL_SHRINK) with the error that names the file system;
    /// compositord and its other client carry on. (wf-recorder 0.3 then hangs, its connection
    /// closed, and ignores SIGINT: it is killed.)
    @Test(.enabled(if: !WfRecorderTests.tmpIsSharedMemory, "/tmp is tmpfs here: wf-recorder's pools are shared memory"))
    func strictPolicyRefusesItsPoolsOnADiskTmp() throws {
        try ApplicationSession.require(Self.wfRecorder, package: "wf-recorder")
        let c = try CompositorProcess(["--width", "640", "--height", "480", "--seal-policy", "strict"])
        let client = try c.start("demo-client", tag: "demo-client")
        defer { client.signal(SIGKILL); client.wait(timeout: 5) }
        _ = try c.screenshot(timeout: 30) { $0.rgb(96, 96) == 0xFF0000 }
        let recorder = try c.start(Self.wfRecorder, ["-c", "libx264rgb", "-x", "bgr0", "-f", "\(c.runtime.path)/refused.mkv"], tag: "wf-recorder")
        defer { recorder.signal(SIGKILL); recorder.wait(timeout: 10) }
        let deadline = Date().addingTimeInterval(30)
        while !recorder.stderr.contains("wl_shm@"), recorder.isRunning, Date() < deadline { usleep(50_000) }
        #expect(recorder.stderr.contains("wl_shm@") && recorder.stderr.contains("error 2: the pool fd is a file on")
                && recorder.stderr.contains("not shared memory"), "\(recorder.stderr)")
        #expect(c.log.contains("rule=not-shared-memory") && c.log.contains("pool refused"), "\(c.log)")
        #expect(client.isRunning && c.isRunning)
        let shot = try c.screenshot(timeout: 30) { $0.rgb(96, 96) == 0xFF0000 }
        #expect(shot.rgb(96, 96) == 0xFF0000)
    }
}
