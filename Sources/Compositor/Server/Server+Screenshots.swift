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

    /// Output `index` (the first by default) as PNG, its framebuffer as it is: the damage not
    /// composited yet is composited first (on-demand compositing); if every buffer is held by
    /// consumers, the last composited frame.
    public func screenshotPNG(output index: Int = 0) throws -> [UInt8] {
        guard outputs.indices.contains(index) else { throw ServerError.output("there is no output \(index + 1)") }
        _ = compositeDamage(outputs[index])
        guard let fb = outputs[index].output.front else { throw ServerError.output("no frame has been composited") }
        return try fb.withCPUAccess(write: false) {
            try PNGEncoder.encodeXRGB8888(width: Int(fb.width), height: Int(fb.height), stride: Int(fb.stride), pixels: fb.data)
        }
    }

    /// Writes the first output's front buffer to `path` as PNG, and each further output's to
    /// `screenshotPath(path, output:)` (shot.png, shot-HEADLESS-2.png, ...). `path` is written
    /// last, so a reader that waits for it finds the others there.
    public func writeScreenshot(to path: String) throws {
        for (i, o) in outputs.enumerated().reversed() {
            let file = Server.screenshotPath(path, output: i == 0 ? nil : o.output.name)
            let png = try screenshotPNG(output: i)
            try writeFile(file, png)
            logger.info("screenshot written", metadata: ["output": "\(o.output.name)", "path": "\(file)", "bytes": "\(png.count)"])
        }
    }

    /// Where output `name`'s screenshot goes beside `path`: the name before the extension
    /// (nil: `path` itself, the first output's).
    public static func screenshotPath(_ path: String, output name: String?) -> String {
        guard let name else { return path }
        if path.hasSuffix(".png") { return "\(path.dropLast(4))-\(name).png" }
        return "\(path)-\(name)"
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
