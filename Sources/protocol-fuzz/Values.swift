import WaylandTestSupport

/// Random argument values biased towards the ones that break arithmetic and bounds checks.
enum Values {
    static let interestingInts: [Int32] = [
        0, 1, -1, 2, 3, 4, 7, 8, 16, 32, 63, 64, 100, 255, 256, 1000, 1024, 4095, 4096, 4097, 16384, 65535, 65536,
        1 << 20, 1 << 24, 1 << 30, Int32.max, Int32.max - 1, Int32.min, Int32.min + 1, -2, -4096, -65536,
    ]
    static let interestingUInts: [UInt32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 63, 64, 255, 256, 4096, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE,
        // DRM fourccs: XR24, AR24, XB24, RG16, AR30, NV12, and a bogus one.
        0x3432_5258, 0x3432_5241, 0x3432_4258, 0x3631_4752, 0x3033_5241, 0x3231_564E, 0x2020_2020,
    ]

    static func int(_ rng: inout FuzzRandom) -> Int32 {
        switch rng.int(0..<10) {
        case 0..<6: return rng.pick(interestingInts)
        case 6..<9: return Int32(rng.int(-64...1024))
        default: return Int32(truncatingIfNeeded: rng.next())
        }
    }

    static func uint(_ rng: inout FuzzRandom, serials: [UInt32]) -> UInt32 {
        switch rng.int(0..<10) {
        case 0..<5: return rng.pick(interestingUInts)
        case 5..<7 where !serials.isEmpty: return rng.pick(serials) &+ (rng.chance(0.7) ? 0 : UInt32(rng.int(1...3)))
        case 5..<9: return UInt32(rng.int(0...300))
        default: return UInt32(truncatingIfNeeded: rng.next())
        }
    }

    static func fixed(_ rng: inout FuzzRandom) -> Int32 {
        switch rng.int(0..<4) {
        case 0: return int(&rng)
        case 1: return Int32(truncatingIfNeeded: rng.next())
        default: return Int32(clamping: Int64(rng.int(-64...1024)) * 256 + Int64(rng.chance(0.3) ? rng.int(0..<256) : 0))
        }
    }

    static let interestingStrings: [String] = [
        "", "a", "fuzz", "text/plain", "text/plain;charset=utf-8", "UTF8_STRING", "wl_surface", "xdg_toplevel",
        "wl_compositor", "wl_shm", "xdg_wm_base", "org.example.fuzz", "héllo wörld", "%s%s%n%x", "../../etc/passwd",
        String(repeating: "A", count: 1000), String(repeating: "\u{1F600}", count: 200),
    ]

    static func string(_ rng: inout FuzzRandom) -> WireValue {
        switch rng.int(0..<12) {
        case 0..<7: return .string(Array(rng.pick(interestingStrings).utf8))
        case 7: return .string(nil)
        case 8: return .string(rng.bytes(rng.int(1...64)).map { $0 == 0 ? 0x41 : $0 }) // invalid UTF-8 mostly
        case 9: return .string(Array(repeating: UInt8(ascii: "x"), count: rng.int(1000...3900)))
        case 10: // an embedded NUL: libwayland checks the terminator only
            return .string(Array("abc".utf8) + [0] + Array("def".utf8))
        default:
            // The length field lies (too long for the message, or missing its NUL).
            let bytes = Array("lie".utf8)
            return .lyingString(length: rng.pick([3, 5, 64, 0xFFFF, 0xFFFF_FFFF]), bytes: bytes + [0])
        }
    }

    static func array(_ rng: inout FuzzRandom) -> [UInt8] {
        switch rng.int(0..<4) {
        case 0: return []
        case 1: return rng.bytes(4 * rng.int(1...16))
        case 2: return rng.bytes(rng.int(1...64))
        default: return rng.bytes(rng.int(512...3000))
        }
    }
}
