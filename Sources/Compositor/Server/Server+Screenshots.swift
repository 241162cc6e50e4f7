import Buffers
import CWayland
import Glibc
import Syscalls
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
    let fd: Int32
    do throws(Errno) { fd = try Syscall.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o644) } catch {
        throw WriteError(description: "cannot create \(tmp): \(error)")
    }
    var off = 0
    while off < bytes.count {
        do throws(Errno) { off += try Syscall.write(fd, bytes[off...]) } catch {
            try? Syscall.close(fd); try? Syscall.unlink(tmp)
            throw WriteError(description: "cannot write \(tmp): \(error)")
        }
    }
    try? Syscall.close(fd)
    do throws(Errno) { try Syscall.rename(tmp, path) } catch {
        try? Syscall.unlink(tmp)
        throw WriteError(description: "cannot rename to \(path): \(error)")
    }
}
