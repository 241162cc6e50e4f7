import CWayland
import Glibc
@testable import Input
import Testing

/// The seat keyboard's keymap file and xkb state (Sources/Input/Keymap.swift), and the virtual
/// keyboard's keymap reader (VirtualKeyboard.read).
@Suite struct KeymapTests {
    @Test func aKeymapIsCompiledFromNamesIntoASealedReadOnlyFile() throws {
        let keymap = try Keymap.compile(names: KeymapNames(layout: "de"))
        #expect(keymap.text.contains("name[Group1]=\"German\"") || keymap.text.contains("name[group1]=\"German\""))
        let all = Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL)
        #expect(fcntl(keymap.fd, Int32(CW_F_GET_SEALS)) & all == all)
        #expect(fcntl(keymap.fd, F_GETFL) & O_ACCMODE == O_RDONLY)
        var st = stat()
        #expect(fstat(keymap.fd, &st) == 0 && Int(st.st_size) == Int(keymap.size) && Int(keymap.size) == keymap.text.utf8.count + 1)
        #expect(throws: KeymapError.self) { try Keymap.compile(names: KeymapNames(layout: "nosuchlayout")) }
    }

    @Test func heldKeysAreCappedAndModifiersTracked() throws {
        let state = try #require(KeyboardState(keymap: try Keymap.compile(names: KeymapNames(layout: "us"))))
        // KEY_LEFTSHIFT (42): shift is depressed (bit 0 of the us keymap's modifiers), then not.
        #expect(state.key(42, pressed: true))
        #expect(state.modifiers.depressed == 1)
        #expect(state.key(42, pressed: false))
        #expect(state.modifiers.depressed == 0)
        for code in UInt32(1)...200 { _ = state.key(code, pressed: true) }
        #expect(state.pressed.count == KeyboardState.maxPressedKeys)
        #expect(state.releaseAll().count == KeyboardState.maxPressedKeys && state.pressed.isEmpty)
        #expect(!state.key(UInt32.max, pressed: true))  // no overflow past evdev + 8
        #expect(state.setModifiers(depressed: 0, latched: 0, locked: 2, group: 0))  // caps lock
        #expect(!state.setModifiers(depressed: 0, latched: 0, locked: 2, group: 0))
    }

    @Test func aClientKeymapIsReadOnlyFromFilesThatCannotStall() throws {
        let text = Array("xkb_keymap { };".utf8) + [0]
        let fd = cw_memfd_create("k", UInt32(CW_MFD_CLOEXEC))
        defer { close(fd) }
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect(try VirtualKeyboard.read(fd: fd, size: UInt32(text.count)).get() == text)
        for size in [0, UInt32(text.count + 1), VirtualKeyboard.maxKeymapSize + 1] {
            #expect(throws: VirtualKeyboard.ReadFailure.self) { try VirtualKeyboard.read(fd: fd, size: size).get() }
        }
        var ends: [Int32] = [-1, -1]
        pipe(&ends)
        defer { ends.forEach { close($0) } }
        #expect(throws: VirtualKeyboard.ReadFailure.self) { try VirtualKeyboard.read(fd: ends[0], size: 4).get() }
    }
}
