import CWayland
import Testing
@testable import Compositor
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

/// The enums protocol/generate.sh writes from the XML agree with the C constants
/// wayland-scanner writes from the same XML (and libwayland's own for the core).
@Suite struct ProtocolErrorsTests {
    @Test func generatedCodesMatchTheScannersConstants() {
        #expect(WlDisplayError.noMemory.rawValue == WL_DISPLAY_ERROR_NO_MEMORY.rawValue)
        #expect(WlShmError.invalidFormat.rawValue == WL_SHM_ERROR_INVALID_FORMAT.rawValue)
        #expect(WlShmError.invalidFd.rawValue == WL_SHM_ERROR_INVALID_FD.rawValue)
        #expect(WlSurfaceError.invalidSize.rawValue == WL_SURFACE_ERROR_INVALID_SIZE.rawValue)
        #expect(XdgSurfaceError.unconfiguredBuffer.rawValue == XDG_SURFACE_ERROR_UNCONFIGURED_BUFFER.rawValue)
        #expect(XdgWmBaseError.invalidPositioner.rawValue == XDG_WM_BASE_ERROR_INVALID_POSITIONER.rawValue)
        #expect(ZwpLinuxBufferParamsV1Error.invalidWlBuffer.rawValue == ZWP_LINUX_BUFFER_PARAMS_V1_ERROR_INVALID_WL_BUFFER.rawValue)
        #expect(WpLinuxDrmSyncobjSurfaceV1Error.conflictingPoints.rawValue == WP_LINUX_DRM_SYNCOBJ_SURFACE_V1_ERROR_CONFLICTING_POINTS.rawValue)
        #expect(WpViewportError.outOfBuffer.rawValue == WP_VIEWPORT_ERROR_OUT_OF_BUFFER.rawValue)
    }

    @Test func eachEnumNamesItsInterface() {
        #expect(WlShmError.interfaceName == "wl_shm")
        #expect(ZwlrScreencopyFrameV1Error.interfaceName == "zwlr_screencopy_frame_v1")
        #expect(WpLinuxDrmSyncobjManagerV1Error.interfaceName == String(cString: cw_wp_linux_drm_syncobj_manager_v1_interface().pointee.name))
    }
}
