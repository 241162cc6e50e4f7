import Buffers
import SurfaceModel
import SceneGraph
import Render
import CWayland

/// Where composited frames go: the seam between the renderer and the memory it draws into.
/// Every backend hands out a small swapchain of XRGB8888 framebuffers; all but memfd are dma-bufs
/// a consumer can take by fd.
package protocol OutputBackend: AnyObject {
    /// Short name printed at start-up: "drm-dumb", "udmabuf", "dma-heap" or "memfd".
    var kind: String { get }
    /// The device used, or nil ("-") for none.
    var device: String? { get }
    var width: Int32 { get }
    var height: Int32 { get }
    /// Every framebuffer of the swapchain.
    var framebuffers: [Framebuffer] { get }
}

extension OutputBackend {
    /// DRM fourcc of the framebuffers.
    package var fourcc: UInt32 { fourccCode("XR24") }
    package var isDmabuf: Bool { framebuffers.first?.export != nil }
}

/// `compositord --output-device auto|none|PATH`.
public enum OutputDeviceChoice: Sendable, Equatable {
    /// drm-dumb on the first usable /dev/dri/card*, else udmabuf, else dma-heap, else memfd.
    case automatic
    /// The sealed memfd backend (no dma-buf).
    case none
    /// Exactly this device (a /dev/dri/card* node, /dev/udmabuf or a /dev/dma_heap/* heap), or fail.
    case path(String)

    public init(_ argument: String) {
        switch argument {
        case "auto": self = .automatic
        case "none": self = .none
        default: self = .path(argument)
        }
    }
}

/// Picks the output backend: walks the fallback chain for `auto`, and says why each earlier
/// candidate was skipped.
package enum OutputBackends {
    package struct Failure: Error, CustomStringConvertible { package let description: String }

    package static let swapchainLength = 3

    package static func make(_ choice: OutputDeviceChoice, width: Int32, height: Int32) throws
        -> (backend: OutputBackend, skipped: [String]) {
        let n = swapchainLength
        switch choice {
        case .none:
            return (try MemfdBackend(width: width, height: height, count: n), [])
        case let .path(path):
            do {
                if path.hasPrefix("/dev/dma_heap/") {
                    return (try DmaHeapBackend(heap: path, width: width, height: height, count: n), [])
                } else if path.hasSuffix("udmabuf") {
                    return (try UdmabufBackend(device: path, width: width, height: height, count: n), [])
                } else {
                    return (try DrmDumbBackend(device: path, width: width, height: height, count: n), [])
                }
            } catch {
                throw Failure(description: "--output-device \(path): \(error)")
            }
        case .automatic:
            var skipped: [String] = []
            for card in DrmNodes.primaryNodes() {
                do { return (try DrmDumbBackend(device: card, width: width, height: height, count: n), skipped) } catch {
                    skipped.append("drm-dumb \(card): \(error)")
                }
            }
            if DrmNodes.primaryNodes().isEmpty { skipped.append("drm-dumb: no /dev/dri/card* node") }
            do { return (try UdmabufBackend(device: "/dev/udmabuf", width: width, height: height, count: n), skipped) } catch {
                skipped.append("udmabuf /dev/udmabuf: \(error)")
            }
            do { return (try DmaHeapBackend(heap: "/dev/dma_heap/system", width: width, height: height, count: n), skipped) } catch {
                skipped.append("dma-heap /dev/dma_heap/system: \(error)")
            }
            return (try MemfdBackend(width: width, height: height, count: n), skipped)
        }
    }
}
