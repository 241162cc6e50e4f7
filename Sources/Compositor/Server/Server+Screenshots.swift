import Buffers
import CWayland
import Glibc
import PNG
import SystemPackage
import SurfaceModel
import SceneGraph
import Render
import Outputs
import WaylandCore
import Protocols
import Input
import WindowManagement

extension Server {
    // MARK: screenshots

    /// The output as PNG: the damage not composited yet is composited first (on-demand
    /// compositing); if every buffer is held by consumers, the last composited frame.
    public func screenshotPNG() throws -> [UInt8] {
        _ = compositeDamage()
        guard let fb = output.front else { throw ServerError.output("no frame has been composited") }
        return try fb.withCPUAccess(write: false) {
            try PNGEncoder.encodeXRGB8888(width: Int(fb.width), height: Int(fb.height), stride: Int(fb.stride), pixels: fb.data)
        }
    }

    /// Writes the front buffer to `path` as PNG.
    public func writeScreenshot(to path: String) throws {
        let png = try screenshotPNG()
        try writeFile(path, png)
        logger.info("screenshot written", metadata: ["path": "\(path)", "bytes": "\(png.count)"])
    }
}

/// Writes bytes to a file atomically (temporary file + rename), so readers never see half a PNG.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    struct WriteError: Error, CustomStringConvertible { package let description: String }
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw WriteError(description: "cannot create \(tmp): \(Errno.current)") }
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            let e = Errno.current
            close(fd); unlink(tmp)
            throw WriteError(description: "cannot write \(tmp): \(e)")
        }
        off += n
    }
    close(fd)
    guard rename(tmp, path) == 0 else {
        let e = Errno.current
        unlink(tmp)
        throw WriteError(description: "cannot rename to \(path): \(e)")
    }
}
