import Input
import Logging

/// `--virtual-input allow|deny`: whether clients may inject input and use the clipboard from
/// outside (data control: read whatever is copied, replace it, without focus).
///
/// A client with a virtual keyboard types into whichever window has focus: into a terminal, that
/// is running commands as the user. On a headless compositor every client is the user's own and
/// driving applications is the point, so it is allowed by default (as sway does). Denied, the
/// globals are hidden from every client by the display's global filter (AdvertisedGlobals.swift),
/// which libwayland also applies to `wl_registry.bind` (a guessed name is `invalid_object`).
/// Embedders' own input (the wlcs module, `Server.keyboardKey`) is not a client's and stays.
public enum VirtualInputPolicy: String, Sendable, CaseIterable {
    case allow, deny

    /// The globals that inject input, or read and set the clipboard without focus.
    package static let interfaces: Set<String> = [
        "zwp_virtual_keyboard_manager_v1", "zwlr_virtual_pointer_manager_v1",
        "zwlr_data_control_manager_v1", "ext_data_control_manager_v1",
    ]
}

extension Server {
    /// The seat's own keyboard, compiled before anything else is made (a layout xkb does not
    /// know fails the start with a message naming it).
    static func makeKeyboard(_ configuration: ServerConfiguration) throws(ServerError) -> KeyboardState {
        let keymap: Keymap
        do { keymap = try Keymap.compile(names: configuration.keymap) } catch { throw .keymap("\(error)") }
        guard let state = KeyboardState(keymap: keymap) else { throw .keymap("xkb_state_new failed") }
        return state
    }
}
