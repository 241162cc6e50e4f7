import Foundation
import Glibc
import Testing
import WaylandTestSupport

/// The clipboard through Debian's wl-clipboard: by default wl-copy and wl-paste use
/// zwlr_data_control_manager_v1; under `--virtual-input deny` (data control hidden) they fall
/// back to mapping a window, getting the keyboard focus, and using the core data device, whose
/// selection is offered to the focused client (docs/input.md).
@Suite struct ClipboardTests {
    @Test(arguments: [[], ["--virtual-input", "deny"]])
    func wlCopyThenWlPasteRoundTrip(_ flags: [String]) throws {
        try ApplicationSession.require("/usr/bin/wl-copy", package: "wl-clipboard")
        let c = try CompositorProcess(["--width", "320", "--height", "240"] + flags)
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

extension ClipboardTests {
    /// The primary selection (zwp_primary_selection_v1) is a selection of its own: wl-copy
    /// --primary sets it from a focused window with an input serial, wl-paste --primary is
    /// offered it on focus, and the clipboard stays as it was.
    @Test func thePrimarySelectionIsItsOwn() throws {
        try ApplicationSession.require("/usr/bin/wl-copy", package: "wl-clipboard")
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        #expect(try c.run("/usr/bin/wl-copy", ["clipboard"], tag: "wl-copy").status == 0)
        let copy = try c.run("/usr/bin/wl-copy", ["--primary", "primary ünïcode"], tag: "wl-copy-primary")
        #expect(copy.status == 0, "\(copy.stderr)")
        let primary = try c.run("/usr/bin/wl-paste", ["--primary", "--no-newline"], timeout: 20, tag: "wl-paste-primary")
        #expect(primary.stdout == "primary ünïcode", "\(primary.stderr)")
        let clipboard = try c.run("/usr/bin/wl-paste", ["--no-newline"], timeout: 20, tag: "wl-paste")
        #expect(clipboard.stdout == "clipboard", "\(clipboard.stderr)")
        #expect(c.isRunning && !c.log.contains("protocol error"), "\(c.log)")
    }
}

/// Hostile data-control clients: each misuse is the protocol's error, and a source that never
/// writes holds up only its paster.
@Suite struct DataControlErrorTests {
    /// A raw client with a data-control device and a source offering text/plain.
    struct Raw {
        let client: RawWaylandClient
        let device: UInt32, source: UInt32

        /// `family`: zwlr_data_control_manager_v1 or ext_data_control_manager_v1 (the same requests).
        init(_ socket: String, family: String = "zwlr_data_control_manager_v1") throws {
            client = RawWaylandClient.registry(at: socket)
            let seat = client.bind(name: try #require(client.globalName("wl_seat")), interface: "wl_seat", version: 1)
            let manager = client.bind(name: try #require(client.globalName(family)), interface: family, version: 1)
            source = client.newID()
            client.send(RawWaylandClient.message(object: manager, opcode: 0, [source]))
            device = client.newID()
            client.send(RawWaylandClient.message(object: manager, opcode: 1, [device, seat]))
            offer("text/plain")
        }

        func offer(_ mime: String) {
            client.send(WireEncoder.encode(object: source, opcode: 0, [.string(Array(mime.utf8))]).bytes)
        }

        func setSelection() { client.send(RawWaylandClient.message(object: device, opcode: 0, [source])) }
    }

    static let families = ["zwlr_data_control_manager_v1", "ext_data_control_manager_v1"]

    @Test(arguments: families) func offerAfterSetSelectionIsInvalidOffer(_ family: String) throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)", family: family)
        raw.setSelection()
        raw.offer("text/html")
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.source && raw.client.displayError?.code == 1, "\(String(describing: raw.client.displayError))")
    }

    @Test(arguments: families) func aSourceUsedTwiceIsUsedSource(_ family: String) throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)", family: family)
        raw.setSelection()
        raw.setSelection()
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.device && raw.client.displayError?.code == 1, "\(String(describing: raw.client.displayError))")
    }

    /// The selection's source never writes nor closes: wl-paste waits on it (its own business),
    /// compositord goes on serving everyone else, and a new selection replaces it.
    /// (An ext-data-control source as the selection: wl-paste, which speaks zwlr, is offered it.)
    @Test(arguments: families) func aSourceThatNeverWritesHoldsUpOnlyItsPaster(_ family: String) throws {
        try ApplicationSession.require("/usr/bin/wl-paste", package: "wl-clipboard")
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let socket = "\(c.runtime.path)/\(c.socketName)"
        let raw = try Raw(socket, family: family)
        if family.hasPrefix("ext") {
            // set_primary_selection: ignored (no primary selection), not an error.
            raw.client.send(RawWaylandClient.message(object: raw.device, opcode: 2, [0]))
        }
        raw.setSelection()
        #expect(raw.client.roundtrip())
        let paste = try c.start("/usr/bin/wl-paste", [], tag: "wl-paste")
        defer { paste.signal(SIGKILL); paste.wait(timeout: 10) }
        usleep(300_000)
        #expect(paste.isRunning, "wl-paste did not wait on the source: \(paste.stdout) \(paste.stderr)")
        let other = RawWaylandClient.registry(at: socket)
        let start = monotonicSeconds()
        #expect(other.roundtrip(timeout: 10) && monotonicSeconds() - start < 2)
        let copy = try c.run("/usr/bin/wl-copy", ["fresh"], tag: "wl-copy")
        #expect(copy.status == 0, "\(copy.stderr)")
        let fresh = try c.run("/usr/bin/wl-paste", ["--no-newline"], timeout: 20, tag: "wl-paste-2")
        #expect(fresh.stdout == "fresh" && c.isRunning)
    }
}
