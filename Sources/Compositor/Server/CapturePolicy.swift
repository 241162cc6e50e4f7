import Buffers
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement
import CWayland

/// `--capture allow|deny`: whether clients may read the whole output.
///
/// Capture is the only way to see a headless compositor's output, and stock tools (grim, wf-recorder)
/// rely on it, so it is allowed by default, as sway does. Denied, the capture globals are hidden
/// from every client by the display's global filter (AdvertisedGlobals.swift), which libwayland
/// also applies to `wl_registry.bind`: a client that guesses a hidden global's name gets
/// `wl_display.error(invalid_object)`. compositord's own screenshots (SIGUSR1, `--screenshot`) are
/// not a client's and stay available.
public enum CapturePolicy: String, Sendable, CaseIterable {
    case allow, deny

    /// The globals that hand out the output's pixels.
    package static let interfaces: Set<String> = [
        "zwlr_export_dmabuf_manager_v1", "zwlr_screencopy_manager_v1",
        "ext_image_copy_capture_manager_v1", "ext_output_image_capture_source_manager_v1",
        "ext_foreign_toplevel_image_capture_source_manager_v1",
    ]
}
