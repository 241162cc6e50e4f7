import CWayland
import CXkbcommon
import Glibc
import Syscalls

/// The names an XKB keymap is compiled from (rules, model, layout, variant, options). A nil
/// field is left to libxkbcommon: `XKB_DEFAULT_RULES`, `_MODEL`, `_LAYOUT`, `_VARIANT` and
/// `_OPTIONS` from the environment, else its built-in default (evdev, pc105, us).
public struct KeymapNames: Sendable, Equatable {
    public var rules: String?
    public var model: String?
    public var layout: String?
    public var variant: String?
    public var options: String?

    public init(rules: String? = nil, model: String? = nil, layout: String? = nil, variant: String? = nil, options: String? = nil) {
        self.rules = rules
        self.model = model
        self.layout = layout
        self.variant = variant
        self.options = options
    }
}

/// Why a keymap could not be made; the message says what to change.
package enum KeymapError: Error, CustomStringConvertible {
    case noContext
    case compile(String)
    case file(String)

    package var description: String {
        switch self {
        case .noContext: "xkb_context_new failed (is libxkbcommon's xkb-data installed?)"
        case let .compile(why): why
        case let .file(why): "cannot make the keymap file: \(why)"
        }
    }
}

/// A compiled XKB keymap and its text in a sealed memfd: the one file every `wl_keyboard.keymap`
/// event carries (`fd` is read-only and the file is sealed against writes, shrinking and
/// growing, so no client can change what another maps).
package final class Keymap {
    /// `struct xkb_keymap *`.
    package let xkbKeymap: OpaquePointer
    /// Read-only fd of the sealed memfd; libwayland sends a duplicate with each event.
    package let fd: Int32
    /// The text's size with its terminating NUL (wl_keyboard.keymap's `size`).
    package let size: UInt32
    /// The text as compiled (tests and logs).
    package let text: String

    private init(_ keymap: OpaquePointer) throws(KeymapError) {
        guard let cText = xkb_keymap_get_as_string(keymap, XKB_KEYMAP_FORMAT_TEXT_V1) else {
            xkb_keymap_unref(keymap)
            throw .compile("xkb_keymap_get_as_string failed")
        }
        defer { free(cText) }
        text = String(cString: cText)
        let length = strlen(cText) + 1
        do {
            fd = try Keymap.sealedFile(UnsafeRawBufferPointer(start: cText, count: length))
        } catch {
            xkb_keymap_unref(keymap)
            throw error
        }
        xkbKeymap = keymap
        size = UInt32(length)
    }

    deinit {
        xkb_keymap_unref(xkbKeymap)
        try? Syscall.close(fd)
    }

    /// Compiles the keymap `names` describe (nil fields from XKB_DEFAULT_*, then us).
    package static func compile(names: KeymapNames) throws(KeymapError) -> Keymap {
        guard let context = xkb_context_new(XKB_CONTEXT_NO_FLAGS) else { throw .noContext }
        defer { xkb_context_unref(context) }
        let fields = [names.rules, names.model, names.layout, names.variant, names.options].map { $0.map { strdup($0) } ?? nil }
        defer { fields.forEach { free($0) } }
        var rmlvo = xkb_rule_names(rules: fields[0], model: fields[1], layout: fields[2], variant: fields[3], options: fields[4])
        guard let keymap = xkb_keymap_new_from_names(context, &rmlvo, XKB_KEYMAP_COMPILE_NO_FLAGS) else {
            throw .compile("no XKB keymap for rules \(names.rules ?? "(default)"), model \(names.model ?? "(default)"), layout \(names.layout ?? "(default)"), variant \(names.variant ?? "(none)"), options \(names.options ?? "(none)"): check the names against /usr/share/X11/xkb/rules/evdev.lst")
        }
        return try Keymap(keymap)
    }

    /// Compiles a client's keymap text (XKB text v1; anything from the first NUL on is ignored).
    /// The result is compositord's own serialization in its own sealed file: what reaches other
    /// clients is never the sender's file.
    package static func compile(text bytes: [UInt8]) throws(KeymapError) -> Keymap {
        guard let context = xkb_context_new(XKB_CONTEXT_NO_FLAGS) else { throw .noContext }
        defer { xkb_context_unref(context) }
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        guard end > 0 else { throw .compile("the keymap is empty") }
        let keymap = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: end) {
                xkb_keymap_new_from_buffer(context, $0, end, XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS)
            }
        }
        guard let keymap else { throw .compile("libxkbcommon cannot compile it as an XKB text v1 keymap (xkbcomp -xkb shows a valid one)") }
        return try Keymap(keymap)
    }

    /// A memfd holding `bytes`, sealed (no write, shrink, grow, or further seals), reopened
    /// read-only: a client's MAP_SHARED read mapping of it works, a write mapping cannot.
    private static func sealedFile(_ bytes: UnsafeRawBufferPointer) throws(KeymapError) -> Int32 {
        let rw: Int32
        do { rw = try Syscall.memfdCreate("compositord-keymap", flags: UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING)) } catch {
            throw .file("memfd_create: \(error)")
        }
        defer { try? Syscall.close(rw) }
        do {
            var offset = 0
            while offset < bytes.count {
                offset += try Syscall.write(rw, ArraySlice(bytes[offset...]))
            }
            try Syscall.addSeals(rw, Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL))
            return try Syscall.open("/proc/self/fd/\(rw)", O_RDONLY | O_CLOEXEC)
        } catch {
            throw .file("\(error)")
        }
    }
}

/// One keyboard device's state: its keymap, the keys it holds, and its modifiers as libxkbcommon
/// tracks them (`xkb_state`), wlroots' `wlr_keyboard` without the device.
package final class KeyboardState {
    /// wlroots' WLR_KEYBOARD_KEYS_CAP: a flood of distinct key codes cannot grow the list (or
    /// the `enter` event) past it.
    package static let maxPressedKeys = 32
    package let keymap: Keymap
    /// `struct xkb_state *`.
    private let state: OpaquePointer
    /// Linux evdev key codes held down, oldest first.
    package private(set) var pressed: [UInt32] = []

    package init?(keymap: Keymap) {
        guard let state = xkb_state_new(keymap.xkbKeymap) else { return nil }
        self.keymap = keymap
        self.state = state
    }

    deinit { xkb_state_unref(state) }

    /// A key (evdev code) went down or up; returns whether the modifiers or group changed.
    package func key(_ code: UInt32, pressed isDown: Bool) -> Bool {
        if isDown {
            if !pressed.contains(code), pressed.count < Self.maxPressedKeys { pressed.append(code) }
        } else {
            pressed.removeAll { $0 == code }
        }
        guard code <= UInt32.max - 8 else { return false }  // XKB codes are evdev + 8
        return xkb_state_update_key(state, code + 8, isDown ? XKB_KEY_DOWN : XKB_KEY_UP).rawValue != 0
    }

    /// The modifiers and group set as a whole (a virtual keyboard's `modifiers`); returns whether
    /// anything changed.
    package func setModifiers(depressed: UInt32, latched: UInt32, locked: UInt32, group: UInt32) -> Bool {
        let before = modifiers
        _ = xkb_state_update_mask(state, depressed, latched, locked, 0, 0, group)
        return modifiers != before
    }

    /// Releases every held key (the device goes); returns the codes released.
    package func releaseAll() -> [UInt32] {
        let held = pressed
        for code in held { _ = key(code, pressed: false) }
        return held
    }

    package struct Modifiers: Equatable {
        package var depressed: UInt32, latched: UInt32, locked: UInt32, group: UInt32
    }

    /// What `wl_keyboard.modifiers` carries.
    package var modifiers: Modifiers {
        Modifiers(depressed: xkb_state_serialize_mods(state, XKB_STATE_MODS_DEPRESSED),
                  latched: xkb_state_serialize_mods(state, XKB_STATE_MODS_LATCHED),
                  locked: xkb_state_serialize_mods(state, XKB_STATE_MODS_LOCKED),
                  group: xkb_state_serialize_layout(state, XKB_STATE_LAYOUT_EFFECTIVE))
    }
}
