import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// The small protocols of issue 21: single-pixel buffers, decorations (KDE's; xdg-decoration is
/// wlcs's XdgDecorationV1Test), xdg-foreign, idle inhibitors, transient seats.
@Suite struct SmallProtocolsTests {
    let timeout = Duration.seconds(30)

    func connect(_ c: CompositorProcess) throws -> ClientContext {
        try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
    }

    /// A 1×1 buffer of one colour, scaled by its viewport to 100×60, is that rectangle on screen.
    @Test func aSinglePixelBufferIsShownAtItsViewportsSize() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try connect(c)
        let toplevel = Toplevel(context: context, title: "pixel", appID: "test")
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let viewport = try Viewport(context: context, surface: toplevel.surface)
        viewport.setDestination(width: 100, height: 60)
        // 100 % red, 50 % green, 0 % blue, opaque.
        let pixel = try SinglePixelBuffer(registry: context.registry, red: .max, green: 0x8000_0000, blue: 0)
        let cb = try #require(toplevel.present(pixel))
        try context.connection.wait(timeout: timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
        let shot = try c.screenshot { $0.rgb(80, 60) == 0xFF8000 }
        for (x, y) in [(32, 32), (80, 60), (131, 91)] { #expect(shot.rgb(x, y) == 0xFF8000, "(\(x), \(y)): \(Colour.hex(shot.rgb(x, y)))") }
        for (x, y) in [(132, 60), (80, 92), (31, 31)] { #expect(shot.rgb(x, y) == 0x20_2830, "(\(x), \(y)) outside the rectangle") }
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }

    /// KDE's server decoration: `Client` by default; the mode asked for is the mode given.
    @Test func kdeServerDecorationAnswersTheModeAsked() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try connect(c)
        let recorder = EventRecorder()
        let manager = try context.registry.bind("org_kde_kwin_server_decoration_manager", table: cw_org_kde_kwin_server_decoration_manager_interface(),
                                                maxVersion: 1).proxy
        recorder.attach(manager)
        let toplevel = Toplevel(context: context, title: "kde", appID: "test")
        let decoration = org_kde_kwin_server_decoration_manager_create(manager, toplevel.surface.proxy)!
        recorder.attach(decoration)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "default_mode and mode")
        org_kde_kwin_server_decoration_request_mode(decoration, 2)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "mode")
        #expect(recorder.events(of: manager).map(\.arguments) == [[.uint(1)]], "default_mode Client: \(recorder.events)")
        #expect(recorder.events(of: decoration).map(\.arguments) == [[.uint(1)], [.uint(2)]], "mode Client, then Server: \(recorder.events)")
    }

    /// A toplevel exported by one client is imported by another with its handle; the import dies
    /// with the export; a bad handle is dead at once; a surface that is no toplevel is an error.
    @Test func xdgForeignHandlesLiveAsLongAsTheExport() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let owner = try connect(c), other = try connect(c)
        let recorder = EventRecorder()
        let exporter = try owner.registry.bind("zxdg_exporter_v2", table: cw_zxdg_exporter_v2_interface(), maxVersion: 1).proxy
        let window = Toplevel(context: owner, title: "exported", appID: "test")
        let exported = zxdg_exporter_v2_export_toplevel(exporter, window.surface.proxy)!
        recorder.attach(exported)
        try owner.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "handle")
        guard case let .string(handle?)? = recorder.events(of: exported).first?.arguments.first else {
            Issue.record("no handle: \(recorder.events)")
            return
        }
        #expect(handle.count == 32, "\(handle)")

        let importer = try other.registry.bind("zxdg_importer_v2", table: cw_zxdg_importer_v2_interface(), maxVersion: 1).proxy
        let imported = zxdg_importer_v2_import_toplevel(importer, handle)!
        let bogus = zxdg_importer_v2_import_toplevel(importer, "no-such-handle")!
        recorder.attach(imported)
        recorder.attach(bogus)
        let dialog = Toplevel(context: other, title: "dialog", appID: "test")
        zxdg_imported_v2_set_parent_of(imported, dialog.surface.proxy)
        try other.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "set_parent_of")
        #expect(recorder.events(of: imported).isEmpty && recorder.events(of: bogus).count == 1, "\(recorder.events)")

        zxdg_exported_v2_destroy(exported)
        try owner.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "unexport")
        try other.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "destroyed")
        #expect(recorder.events(of: imported).map(\.opcode) == [0], "destroyed once the export is gone: \(recorder.events)")

        // A plain wl_surface cannot be exported.
        let plain = ClientKit.Surface(context: owner)
        _ = zxdg_exporter_v2_export_toplevel(exporter, plain.proxy)
        do {
            try owner.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("exporting a plain surface was accepted")
        } catch let e as ProtocolError {
            #expect(e.interface == "zxdg_exporter_v2" && e.code == 0, "\(e)")
        }
        #expect(c.isRunning)
    }

    /// wp_fractional_scale_v1: 120ths of the scale of the output the surface is on, sent at once
    /// (1×: 120 before the window is shown anywhere) and again when the surface lands on a 2×
    /// output (240); wl_surface.preferred_buffer_scale says 2 to a v6 surface (issue 19, item 4).
    @Test func fractionalScaleFollowsTheOutputsScale() throws {
        let c = try CompositorProcess(["--output", "640x480,scale=2"])
        let context = try connect(c)
        let recorder = EventRecorder()
        let manager = try context.registry.bind("wp_fractional_scale_manager_v1", table: cw_wp_fractional_scale_manager_v1_interface(), maxVersion: 1).proxy
        let toplevel = Toplevel(context: context, title: "scaled", appID: "test")
        let scale = wp_fractional_scale_manager_v1_get_fractional_scale(manager, toplevel.surface.proxy)!
        recorder.attach(scale)
        try toplevel.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
        let buffers = try BufferSet<ShmBuffer>(shm: context.shm, width: 64, height: 64, count: 1)
        let cb = try #require(toplevel.present(buffers.buffers[0]))
        try context.connection.wait(timeout: timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "preferred_scale")
        #expect(recorder.events(of: scale).map(\.arguments) == [[.uint(120)], [.uint(240)]], "\(recorder.events)")
        // wl_surface v6 (ClientKit binds it with v6 tables): preferred_buffer_scale 2 as well.
        #expect(toplevel.surface.preferredBufferScale == 2)
        _ = wp_fractional_scale_manager_v1_get_fractional_scale(manager, toplevel.surface.proxy)
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("a second wp_fractional_scale_v1 for the surface was accepted")
        } catch let e as ProtocolError {
            #expect(e.interface == "wp_fractional_scale_manager_v1" && e.code == 0, "\(e)")
        }
    }

    /// Shortcut inhibitors (compositord has no shortcuts: always granted) are active while their
    /// surface has keyboard focus; a second one for the same surface is already_inhibited.
    @Test func shortcutInhibitorsFollowKeyboardFocus() throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let context = try connect(c)
        let buffers = try BufferSet<ShmBuffer>(shm: context.shm, width: 64, height: 64, count: 2)
        func window(_ title: String, _ i: Int) throws -> Toplevel {
            let t = Toplevel(context: context, title: title, appID: "test")
            try t.waitForConfigure(timeout: timeout).orThrow(waitingFor: "configure")
            let cb = try #require(t.present(buffers.buffers[i]))
            try context.connection.wait(timeout: timeout) { cb.isDone }.orThrow(waitingFor: "frame callback")
            return t
        }
        let first = try window("first", 0)
        let second = try window("second", 1)  // the newest window has the keyboard focus
        let recorder = EventRecorder()
        let manager = try context.registry.bind("zwp_keyboard_shortcuts_inhibit_manager_v1",
                                                table: cw_zwp_keyboard_shortcuts_inhibit_manager_v1_interface(), maxVersion: 1).proxy
        let seat = try context.registry.bind("wl_seat", table: cw_wl_seat_interface(), maxVersion: 1).proxy
        let onSecond = zwp_keyboard_shortcuts_inhibit_manager_v1_inhibit_shortcuts(manager, second.surface.proxy, seat)!
        let onFirst = zwp_keyboard_shortcuts_inhibit_manager_v1_inhibit_shortcuts(manager, first.surface.proxy, seat)!
        recorder.attach(onSecond)
        recorder.attach(onFirst)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "active")
        #expect(recorder.events(of: onSecond).map(\.opcode) == [0] && recorder.events(of: onFirst).isEmpty, "\(recorder.events)")

        // The focused window unmapped: the focus moves to the other one, and so does "active".
        second.surface.attach(nil)
        second.surface.commit()
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "inactive and active")
        #expect(recorder.events(of: onSecond).map(\.opcode) == [0, 1] && recorder.events(of: onFirst).map(\.opcode) == [0], "\(recorder.events)")

        _ = zwp_keyboard_shortcuts_inhibit_manager_v1_inhibit_shortcuts(manager, first.surface.proxy, seat)
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("a second inhibitor for the surface was accepted")
        } catch let e as ProtocolError {
            #expect(e.interface == "zwp_keyboard_shortcuts_inhibit_manager_v1" && e.code == 0, "\(e)")
        }
    }

    /// compositord makes no seat but seat0: a transient seat is `denied`; inhibitors are accepted.
    @Test func transientSeatsAreDeniedAndInhibitorsAccepted() throws {
        let c = try CompositorProcess(["--width", "320", "--height", "240"])
        let context = try connect(c)
        let recorder = EventRecorder()
        let seats = try context.registry.bind("ext_transient_seat_manager_v1", table: cw_ext_transient_seat_manager_v1_interface(), maxVersion: 1).proxy
        let seat = ext_transient_seat_manager_v1_create(seats)!
        recorder.attach(seat)
        let inhibitors = try context.registry.bind("zwp_idle_inhibit_manager_v1", table: cw_zwp_idle_inhibit_manager_v1_interface(), maxVersion: 1).proxy
        let surface = ClientKit.Surface(context: context)
        let inhibitor = zwp_idle_inhibit_manager_v1_create_inhibitor(inhibitors, surface.proxy)!
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "denied")
        #expect(recorder.events(of: seat).map(\.opcode) == [1], "denied: \(recorder.events)")
        zwp_idle_inhibitor_v1_destroy(inhibitor)
        try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the inhibitor's destroy")
        #expect(!c.log.contains("protocol error"), "\(c.log)")
    }
}
