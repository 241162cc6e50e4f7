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

/// Hostile data-control clients: each misuse is the protocol's error, and a source that never
/// writes holds up only its paster.
@Suite struct DataControlErrorTests {
    /// A raw client with a data-control device and a source offering text/plain.
    struct Raw {
        let client: RawWaylandClient
        let device: UInt32, source: UInt32

        init(_ socket: String) throws {
            client = RawWaylandClient.registry(at: socket)
            let seat = client.bind(name: try #require(client.globalName("wl_seat")), interface: "wl_seat", version: 1)
            let manager = client.bind(name: try #require(client.globalName("zwlr_data_control_manager_v1")),
                                      interface: "zwlr_data_control_manager_v1", version: 1)
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

    @Test func offerAfterSetSelectionIsInvalidOffer() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)")
        raw.setSelection()
        raw.offer("text/html")
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.source && raw.client.displayError?.code == 1, "\(String(describing: raw.client.displayError))")
    }

    @Test func aSourceUsedTwiceIsUsedSource() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let raw = try Raw("\(c.runtime.path)/\(c.socketName)")
        raw.setSelection()
        raw.setSelection()
        #expect(!raw.client.roundtrip())
        #expect(raw.client.displayError?.objectID == raw.device && raw.client.displayError?.code == 1, "\(String(describing: raw.client.displayError))")
    }

    /// The selection's source never writes nor closes: wl-paste waits on it (its own business),
    /// compositord goes on serving everyone else, and a new selection replaces it.
    @Test func aSourceThatNeverWritesHoldsUpOnlyItsPaster() throws {
        try ApplicationSession.require("/usr/bin/wl-paste", package: "wl-clipboard")
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let socket = "\(c.runtime.path)/\(c.socketName)"
        let raw = try Raw(socket)
        raw.setSelection()
        #expect(raw.client.roundtrip())
        let paste = try c.start("/usr/bin/wl-paste", [], tag: "wl-paste")
        defer { paste.signal(SIGKILL); paste.wait(timeout: 10) }
        usleep(300_000)
        let other = RawWaylandClient.registry(at: socket)
        let start = monotonicSeconds()
        #expect(other.roundtrip(timeout: 10) && monotonicSeconds() - start < 2)
        let copy = try c.run("/usr/bin/wl-copy", ["fresh"], tag: "wl-copy")
        #expect(copy.status == 0, "\(copy.stderr)")
        let fresh = try c.run("/usr/bin/wl-paste", ["--no-newline"], timeout: 20, tag: "wl-paste-2")
        #expect(fresh.stdout == "fresh" && c.isRunning)
    }
}
