import Foundation
import Glibc
import Testing

/// The selection offered to the focused client (wl_data_offer), through Debian's wl-clipboard:
/// wl-copy and wl-paste each map a window, get the keyboard focus, and use the core data device
/// (docs/input.md).
@Suite struct ClipboardTests {
    @Test func wlCopyThenWlPasteRoundTrip() throws {
        try ApplicationSession.require("/usr/bin/wl-copy", package: "wl-clipboard")
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        // wl-copy forks a child that serves the selection until it is replaced.
        let copy = try c.run("/usr/bin/wl-copy", ["hello clipboard ünïcode"], tag: "wl-copy")
        #expect(copy.status == 0 && !copy.timedOut, "\(copy.stderr)")
        let paste = try c.run("/usr/bin/wl-paste", ["--no-newline"], timeout: 20, tag: "wl-paste")
        #expect(paste.status == 0 && !paste.timedOut, "\(paste.stderr)")
        #expect(paste.stdout == "hello clipboard ünïcode")
        let types = try c.run("/usr/bin/wl-paste", ["--list-types"], timeout: 20, tag: "wl-paste-types")
        #expect(types.stdout.split(separator: "\n").contains("text/plain;charset=utf-8"), "\(types.stdout)")

        // A new selection replaces it (the old source is cancelled: its wl-copy exits).
        let second = try c.run("/usr/bin/wl-copy", ["second"], tag: "wl-copy-2")
        #expect(second.status == 0, "\(second.stderr)")
        let again = try c.run("/usr/bin/wl-paste", ["--no-newline"], timeout: 20, tag: "wl-paste-2")
        #expect(again.stdout == "second", "\(again.stderr)")

        // Cleared: wl-paste says there is nothing (and does not wait).
        _ = try c.run("/usr/bin/wl-copy", ["--clear"], tag: "wl-copy-clear")
        let empty = try c.run("/usr/bin/wl-paste", [], timeout: 20, tag: "wl-paste-empty")
        #expect(empty.status != 0 && !empty.timedOut, "\(empty.stdout) \(empty.stderr)")
        #expect(c.isRunning && !c.log.contains("protocol error"), "\(c.log)")
    }
}
