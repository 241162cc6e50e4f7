import ArgumentParser
import CPixman
import Glibc

/// The floor a full-screen repaint cannot beat: pixman copying one whole XRGB8888 frame into
/// another (PIXMAN_OP_SRC, the operation an opaque full-output surface composites with).
@main
struct BenchPixman: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-pixman",
        abstract: "Times pixman_image_composite32(SRC) of one x8r8g8b8 image onto another of the same size.",
        discussion: """
            Prints one line: 'pixman_copy size=WxH pairs=P iterations=N median_ms=X min_ms=Y p90_ms=Z gbps=G', \
            where gbps is bytes copied per second (one read and one write of W*H*4 bytes counted once). \
            With --pairs 1 (the default) both images stay in the last-level cache when they fit; \
            more pairs, copied in turn, make each copy start cold.
            """
    )

    @Option(help: "Image width in pixels.")
    var width = 1920

    @Option(help: "Image height in pixels.")
    var height = 1080

    @Option(help: "Timed copies (after 20 untimed ones).")
    var iterations = 300

    @Option(help: "Source/target pairs copied in turn (more than the last-level cache holds: cold copies).")
    var pairs = 1

    func validate() throws {
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw ValidationError("--width and --height must be between 1 and 16384")
        }
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        guard (1...64).contains(pairs) else { throw ValidationError("--pairs must be between 1 and 64") }
    }

    func run() throws {
        let stride = width * 4
        let bytes = stride * height
        // Page-aligned, like mmap'd pool and framebuffer memory; touched before timing.
        var memory: [UnsafeMutableRawPointer] = []
        defer { memory.forEach { free($0) } }
        var images: [(source: OpaquePointer, target: OpaquePointer)] = []
        defer { images.forEach { pixman_image_unref($0.source); pixman_image_unref($0.target) } }
        for _ in 0..<pairs {
            guard let source = Self.allocate(bytes), let target = Self.allocate(bytes) else {
                throw ValidationError("cannot allocate \(2 * pairs) images of \(bytes) bytes")
            }
            memory += [source, target]
            memset(source, 0x5A, bytes)
            memset(target, 0, bytes)
            images.append((
                pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, Int32(width), Int32(height), source.assumingMemoryBound(to: UInt32.self), Int32(stride)),
                pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, Int32(width), Int32(height), target.assumingMemoryBound(to: UInt32.self), Int32(stride))
            ))
        }

        var next = 0
        func copy() {
            let pair = images[next]
            next = (next + 1) % images.count
            pixman_image_composite32(PIXMAN_OP_SRC, pair.source, nil, pair.target, 0, 0, 0, 0, 0, 0, Int32(width), Int32(height))
        }
        for _ in 0..<20 { copy() }
        var times: [Double] = []
        times.reserveCapacity(iterations)
        for _ in 0..<iterations {
            let start = Self.now()
            copy()
            times.append((Self.now() - start) * 1000)
        }
        times.sort()
        let median = times[times.count / 2]
        let p90 = times[min(times.count - 1, times.count * 9 / 10)]
        let gbps = Double(bytes) / (median / 1000) / 1e9
        print("pixman_copy size=\(width)x\(height) pairs=\(pairs) iterations=\(iterations) median_ms=\(Self.format(median)) min_ms=\(Self.format(times[0])) p90_ms=\(Self.format(p90)) gbps=\(Self.format(gbps, digits: 2))")
    }

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        var pointer: UnsafeMutableRawPointer?
        return posix_memalign(&pointer, 4096, bytes) == 0 ? pointer : nil
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    private static func format(_ value: Double, digits: Int = 3) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        var fraction = String(scaled % Int(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return "\(scaled / Int(scale)).\(fraction)"
    }
}
