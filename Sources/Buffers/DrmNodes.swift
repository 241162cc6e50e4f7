import Glibc
import Syscalls

/// The DRM device clients should allocate on, as a dev_t, for linux-dmabuf's `main_device`:
/// the first render node, else the first primary node. 0 when the machine has none (clients then
/// learn nothing usable from it and should allocate CPU-mappable linear buffers, e.g. udmabuf or
/// the system dma-heap, which compositord imports all the same).
package enum DrmNodes {
    /// /dev/dri/card* primary nodes, lowest number first (dumb buffers need a primary node).
    package static func primaryNodes() -> [String] {
        (0..<16).map { "/dev/dri/card\($0)" }.filter { (try? Syscall.access($0, F_OK)) != nil }
    }

    package static func mainDevice() -> dev_t {
        let candidates = (128..<136).map { "/dev/dri/renderD\($0)" } + (0..<8).map { "/dev/dri/card\($0)" }
        for path in candidates {
            if let st = try? Syscall.stat(path), (st.st_mode & S_IFMT) == S_IFCHR { return st.st_rdev }
        }
        return 0
    }
}
