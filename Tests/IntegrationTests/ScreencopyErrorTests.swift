import ClientKit
import CWayland
import Foundation
import Glibc
import Testing

/// The spec's errors for wrong screencopy buffers, on the frame object.
@Suite struct ScreencopyErrorTests {
    let timeout = Duration.seconds(15)

    /// A wl_buffer of `width`×`height` XRGB8888 with `stride` in a sealed memfd pool.
    func shmBuffer(_ shm: OpaquePointer, width: Int32, height: Int32, stride: Int32) -> OpaquePointer {
        let size = Int(stride * height)
        let fd = cw_memfd_create("screencopy-test", UInt32(CW_MFD_CLOEXEC | CW_MFD_ALLOW_SEALING))
        precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0 && fcntl(fd, Int32(CW_F_ADD_SEALS), Int32(CW_F_SEAL_SHRINK)) == 0)
        let pool = wl_shm_create_pool(shm, fd, Int32(size))!
        close(fd)
        let buffer = wl_shm_pool_create_buffer(pool, 0, width, height, stride, WL_SHM_FORMAT_XRGB8888.rawValue)!
        wl_shm_pool_destroy(pool)
        return buffer
    }

    @Test(arguments: [("wrong size", Int32(320), Int32(240), Int32(1280), false, UInt32(1)),
                      ("wrong stride", Int32(640), Int32(480), Int32(2600), false, UInt32(1)),
                      ("copy twice", Int32(640), Int32(480), Int32(2560), true, UInt32(0))])
    func wrongBufferOrSecondCopy(name: String, width: Int32, height: Int32, stride: Int32, twice: Bool, code: UInt32) throws {
        let c = try CompositorProcess(["--width", "640", "--height", "480"])
        let context = try ClientContext(displayName: "\(c.runtime.path)/\(c.socketName)", timeout: timeout)
        let manager = try context.registry.bind("zwlr_screencopy_manager_v1", table: cw_zwlr_screencopy_manager_v1_interface(), maxVersion: 3)
        let output = try context.registry.bind("wl_output", table: cw_wl_output_interface(), maxVersion: 4)
        let shm = try context.registry.bind("wl_shm", table: cw_wl_shm_interface(), maxVersion: 1)
        let frame = zwlr_screencopy_manager_v1_capture_output(manager.proxy, 0, output.proxy)!
        let buffer = shmBuffer(shm.proxy, width: width, height: height, stride: stride)
        zwlr_screencopy_frame_v1_copy(frame, buffer)
        if twice { zwlr_screencopy_frame_v1_copy(frame, buffer) }
        do {
            try context.connection.roundtrip(timeout: timeout).orThrow(waitingFor: "the error")
            Issue.record("\(name): no protocol error")
        } catch let error as ProtocolError {
            #expect(error.interface == "zwlr_screencopy_frame_v1", "\(error)")
            #expect(error.code == code, "\(name): \(error)")
        }
        #expect(c.isRunning)
    }
}
