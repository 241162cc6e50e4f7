import CWayland
import Glibc
import Testing
@testable import Compositor
import WaylandCore

/// The request enums protocol/generate.sh writes from the XML decode a `Request` as libwayland
/// dispatches it: by the opcodes wayland-scanner assigns from the same XML, the arguments in order.
@Suite struct ProtocolRequestsTests {
    /// Decoding never touches the resource; any non-null pointer will do.
    private static var resource: OpaquePointer { OpaquePointer(bitPattern: 0x10)! }

    /// A Request whose every argument slot holds a pointer to a C string, so each accessor decodes
    /// something non-null (a string, an object, an array) whatever the signature.
    private static func anyRequest(_ opcode: Int32, _ body: (Request) -> Void) {
        "x".withCString { text in
            var args = [wl_argument](repeating: wl_argument(), count: 8)
            for i in args.indices { args[i].s = text }
            args.withUnsafeMutableBufferPointer { args in
                body(Request(resource: resource, opcode: UInt32(opcode), args: args.baseAddress))
            }
        }
    }

    private static func request(_ opcode: UInt32, _ args: [wl_argument], _ body: (Request) -> Void) {
        var args = args
        args.withUnsafeMutableBufferPointer { args in
            body(Request(resource: resource, opcode: opcode, args: args.baseAddress))
        }
    }

    @Test func createBufferDecodesEachArgumentInOrder() {
        var args = [wl_argument](repeating: wl_argument(), count: 6)
        args[0].n = 7
        args[1].i = 16
        args[2].i = 64
        args[3].i = 32
        args[4].i = 256
        args[5].u = 0x3432_5241  // 'AR24'
        Self.request(UInt32(WL_SHM_POOL_CREATE_BUFFER), args) { request in
            guard case let .createBuffer(id, offset, width, height, stride, format)? = WlShmPoolRequest(request) else {
                Issue.record("wl_shm_pool.create_buffer decoded as \(String(describing: WlShmPoolRequest(request)))")
                return
            }
            #expect(id == 7)
            #expect(offset == 16)
            #expect(width == 64)
            #expect(height == 32)
            #expect(stride == 256)
            #expect(format == 0x3432_5241)
        }
    }

    @Test func fixedStringAndFdArgumentsDecode() {
        var source = [wl_argument](repeating: wl_argument(), count: 4)
        (source[0].f, source[1].f, source[2].f, source[3].f) = (384, -256, 2560, 128)  // 1.5, -1, 10, 0.5
        Self.request(UInt32(WP_VIEWPORT_SET_SOURCE), source) { request in
            guard case let .setSource(x, y, width, height)? = WpViewportRequest(request) else {
                Issue.record("wp_viewport.set_source did not decode"); return
            }
            #expect((x, y, width, height) == (1.5, -1, 10, 0.5))
        }
        "a title".withCString { title in
            var args = [wl_argument()]
            args[0].s = title
            Self.request(UInt32(XDG_TOPLEVEL_SET_TITLE), args) { request in
                guard case let .setTitle(decoded)? = XdgToplevelRequest(request) else {
                    Issue.record("xdg_toplevel.set_title did not decode"); return
                }
                #expect(decoded == "a title")
            }
        }
        var pool = [wl_argument](repeating: wl_argument(), count: 3)
        (pool[0].n, pool[1].h, pool[2].i) = (3, 42, 4096)
        Self.request(UInt32(WL_SHM_CREATE_POOL), pool) { request in
            guard case let .createPool(id, fd, size)? = WlShmRequest(request) else {
                Issue.record("wl_shm.create_pool did not decode"); return
            }
            #expect((id, fd, size) == (3, 42, 4096))
        }
    }

    /// Each case sits at the opcode wayland-scanner gives its request: a generator that numbered
    /// requests in any other order (or skipped one) fails here.
    @Test func opcodesMatchTheScannersConstants() {
        func check<T>(_ opcode: Int32, _ decode: (Request) -> T?, _ matches: (T) -> Bool, _ what: String) {
            Self.anyRequest(opcode) { request in
                let decoded = decode(request)
                #expect(decoded.map(matches) == true, "\(what): opcode \(opcode) decoded as \(String(describing: decoded))")
            }
        }
        check(WL_SHM_POOL_CREATE_BUFFER, WlShmPoolRequest.init, { if case .createBuffer = $0 { true } else { false } }, "wl_shm_pool.create_buffer")
        check(WL_SHM_POOL_DESTROY, WlShmPoolRequest.init, { if case .destroy = $0 { true } else { false } }, "wl_shm_pool.destroy")
        check(WL_SHM_POOL_RESIZE, WlShmPoolRequest.init, { if case .resize = $0 { true } else { false } }, "wl_shm_pool.resize")
        check(WL_SHM_CREATE_POOL, WlShmRequest.init, { if case .createPool = $0 { true } else { false } }, "wl_shm.create_pool")
        check(WL_SURFACE_ATTACH, WlSurfaceRequest.init, { if case .attach = $0 { true } else { false } }, "wl_surface.attach")
        check(WL_SURFACE_FRAME, WlSurfaceRequest.init, { if case .frame = $0 { true } else { false } }, "wl_surface.frame")
        check(WL_SURFACE_COMMIT, WlSurfaceRequest.init, { if case .commit = $0 { true } else { false } }, "wl_surface.commit")
        check(WL_SURFACE_SET_BUFFER_SCALE, WlSurfaceRequest.init, { if case .setBufferScale = $0 { true } else { false } }, "wl_surface.set_buffer_scale")
        check(WL_SURFACE_DAMAGE_BUFFER, WlSurfaceRequest.init, { if case .damageBuffer = $0 { true } else { false } }, "wl_surface.damage_buffer")
        check(WL_SURFACE_OFFSET, WlSurfaceRequest.init, { if case .offset = $0 { true } else { false } }, "wl_surface.offset")
        check(WL_SUBSURFACE_PLACE_BELOW, WlSubsurfaceRequest.init, { if case .placeBelow = $0 { true } else { false } }, "wl_subsurface.place_below")
        check(WL_DATA_OFFER_RECEIVE, WlDataOfferRequest.init, { if case .receive = $0 { true } else { false } }, "wl_data_offer.receive")
        check(WL_SEAT_RELEASE, WlSeatRequest.init, { if case .release = $0 { true } else { false } }, "wl_seat.release")
        check(XDG_WM_BASE_PONG, XdgWmBaseRequest.init, { if case .pong = $0 { true } else { false } }, "xdg_wm_base.pong")
        check(XDG_SURFACE_GET_POPUP, XdgSurfaceRequest.init, { if case .getPopup = $0 { true } else { false } }, "xdg_surface.get_popup")
        check(XDG_SURFACE_ACK_CONFIGURE, XdgSurfaceRequest.init, { if case .ackConfigure = $0 { true } else { false } }, "xdg_surface.ack_configure")
        check(XDG_TOPLEVEL_SET_PARENT, XdgToplevelRequest.init, { if case .setParent = $0 { true } else { false } }, "xdg_toplevel.set_parent")
        check(XDG_TOPLEVEL_SET_TITLE, XdgToplevelRequest.init, { if case .setTitle = $0 { true } else { false } }, "xdg_toplevel.set_title")
        check(XDG_TOPLEVEL_SET_APP_ID, XdgToplevelRequest.init, { if case .setAppId = $0 { true } else { false } }, "xdg_toplevel.set_app_id")
        check(XDG_TOPLEVEL_SET_MIN_SIZE, XdgToplevelRequest.init, { if case .setMinSize = $0 { true } else { false } }, "xdg_toplevel.set_min_size")
        check(XDG_TOPLEVEL_SET_MINIMIZED, XdgToplevelRequest.init, { if case .setMinimized = $0 { true } else { false } }, "xdg_toplevel.set_minimized")
        check(XDG_POSITIONER_SET_REACTIVE, XdgPositionerRequest.init, { if case .setReactive = $0 { true } else { false } }, "xdg_positioner.set_reactive")
        check(XDG_POPUP_REPOSITION, XdgPopupRequest.init, { if case .reposition = $0 { true } else { false } }, "xdg_popup.reposition")
        check(WP_VIEWPORT_SET_DESTINATION, WpViewportRequest.init, { if case .setDestination = $0 { true } else { false } }, "wp_viewport.set_destination")
        check(ZWP_LINUX_BUFFER_PARAMS_V1_ADD, ZwpLinuxBufferParamsV1Request.init, { if case .add = $0 { true } else { false } }, "zwp_linux_buffer_params_v1.add")
        check(ZWP_LINUX_BUFFER_PARAMS_V1_CREATE_IMMED, ZwpLinuxBufferParamsV1Request.init, { if case .createImmed = $0 { true } else { false } }, "zwp_linux_buffer_params_v1.create_immed")
        check(ZWLR_SCREENCOPY_FRAME_V1_COPY_WITH_DAMAGE, ZwlrScreencopyFrameV1Request.init, { if case .copyWithDamage = $0 { true } else { false } }, "zwlr_screencopy_frame_v1.copy_with_damage")
        check(WP_LINUX_DRM_SYNCOBJ_SURFACE_V1_SET_RELEASE_POINT, WpLinuxDrmSyncobjSurfaceV1Request.init, { if case .setReleasePoint = $0 { true } else { false } }, "wp_linux_drm_syncobj_surface_v1.set_release_point")
        check(WP_PRESENTATION_FEEDBACK, WpPresentationRequest.init, { if case .feedback = $0 { true } else { false } }, "wp_presentation.feedback")
    }

    @Test func nullIsDecodedOnlyWhereTheXMLAllowsIt() {
        var args = [wl_argument](repeating: wl_argument(), count: 1)  // all null
        Self.request(UInt32(XDG_TOPLEVEL_SET_PARENT), args) { request in
            guard case let .setParent(parent)? = XdgToplevelRequest(request) else {
                Issue.record("xdg_toplevel.set_parent with a null parent did not decode"); return
            }
            #expect(parent == nil)
        }
        Self.request(UInt32(XDG_TOPLEVEL_SET_TITLE), args) { request in
            #expect(XdgToplevelRequest(request) == nil)  // set_title's string is not nullable
        }
        args = [wl_argument](repeating: wl_argument(), count: 2)
        Self.request(UInt32(WL_DATA_OFFER_ACCEPT), args) { request in
            guard case let .accept(_, mimeType)? = WlDataOfferRequest(request) else {
                Issue.record("wl_data_offer.accept with a null mime type did not decode"); return
            }
            #expect(mimeType == nil)
        }
    }

    /// A refused request still closes the fd it carried: the handler, which would own it, never sees it.
    @Test func aRefusedRequestClosesItsFd() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[1]) }
        var args = [wl_argument](repeating: wl_argument(), count: 2)
        args[1].h = fds[0]  // mime_type (not nullable) is null
        Self.request(UInt32(WL_DATA_OFFER_RECEIVE), args) { request in
            #expect(WlDataOfferRequest(request) == nil)
        }
        #expect(fcntl(fds[0], F_GETFD) == -1)
    }

    @Test func anOpcodeOutOfRangeDecodesAsNil() {
        Self.anyRequest(3) { #expect(WlShmPoolRequest($0) == nil) }  // wl_shm_pool has three requests
        Self.anyRequest(1) { #expect(WlShmRequest($0) == nil) }
        Self.anyRequest(2) { #expect(WlShmPoolRequest($0) != nil) }
    }
}
