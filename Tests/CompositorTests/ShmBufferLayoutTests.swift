import Testing
@testable import Compositor
@testable import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

@Suite struct ShmBufferLayoutTests {
    let xrgb = PixelFormat.xrgb8888
    let rgb565 = PixelFormat.shm(0x3631_4752)!

    @Test func exactFitIsAccepted() throws {
        let layout = try ShmBufferLayout.validate(offset: 0, width: 16, height: 16, stride: 64, format: xrgb, poolSize: 1024).get()
        #expect(layout.span == 1024)
    }

    @Test func oneByteShortIsRefused() {
        let r = ShmBufferLayout.validate(offset: 1, width: 16, height: 16, stride: 64, format: xrgb, poolSize: 1024)
        #expect(r == .failure(.outOfPool(end: 1025, poolSize: 1024)))
    }

    @Test func lastRowNeedsOnlyWidthNotStride() throws {
        // offset + stride*(h-1) + width*bpp: a padded stride does not need padding after the last row.
        _ = try ShmBufferLayout.validate(offset: 0, width: 10, height: 2, stride: 64, format: xrgb, poolSize: 64 + 40).get()
    }

    @Test func strideRules() {
        #expect(ShmBufferLayout.validate(offset: 0, width: 16, height: 1, stride: 63, format: xrgb, poolSize: 4096)
                == .failure(.strideNotMultipleOfPixel(stride: 63, bytesPerPixel: 4)))
        #expect(ShmBufferLayout.validate(offset: 0, width: 16, height: 1, stride: 60, format: xrgb, poolSize: 4096)
                == .failure(.strideTooSmall(stride: 60, minimum: 64)))
        #expect(ShmBufferLayout.validate(offset: 0, width: 16, height: 1, stride: -64, format: xrgb, poolSize: 4096)
                == .failure(.strideTooSmall(stride: -64, minimum: 64)))
        // 2 bytes per pixel: stride 34 is fine for width 17.
        #expect((try? ShmBufferLayout.validate(offset: 0, width: 17, height: 1, stride: 34, format: rgb565, poolSize: 34).get()) != nil)
    }

    @Test func int32EdgesDoNotOverflow() {
        // stride × height far beyond INT32_MAX: must be refused, never wrap to a small number.
        let r = ShmBufferLayout.validate(offset: Int32.max - 4, width: 1, height: Int32.max, stride: Int32.max - 3,
                                         format: xrgb, poolSize: Int(Int32.max))
        guard case let .failure(.outOfPool(end, _)) = r else { Issue.record("expected outOfPool, got \(r)"); return }
        #expect(end > Int64(Int32.max))
        #expect(ShmBufferLayout.validate(offset: -1, width: 1, height: 1, stride: 4, format: xrgb, poolSize: 16)
                == .failure(.negativeOffset(-1)))
        #expect(ShmBufferLayout.validate(offset: 0, width: 0, height: 1, stride: 4, format: xrgb, poolSize: 16)
                == .failure(.nonPositiveSize(width: 0, height: 1)))
    }
}
