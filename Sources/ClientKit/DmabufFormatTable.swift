import CWayland
import Glibc
import SystemPackage

/// One format + modifier pair a compositor can import.
public struct DmabufFormat: Hashable, Sendable, CustomStringConvertible {
    /// A DRM fourcc code (`DrmFormat`).
    public var format: UInt32
    /// A DRM format modifier (`DrmModifier`).
    public var modifier: UInt64

    public init(format: UInt32, modifier: UInt64) {
        self.format = format
        self.modifier = modifier
    }

    /// "XR24/LINEAR".
    public var description: String { "\(DrmFormat.name(format))/\(DrmModifier.name(modifier))" }
}

/// The format table of `zwp_linux_dmabuf_feedback_v1.format_table`: tightly packed 16-byte
/// entries, each a u32 format, 4 bytes of padding and a u64 modifier, in native byte order.
/// `tranche_formats` names entries by their 16-bit index.
public struct DmabufFormatTable: Sendable, Equatable {
    public static let entrySize = 16

    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// The size is not a multiple of 16 bytes.
        case badSize(Int)
        /// The table could not be mapped.
        case mmap(Errno)

        public var description: String {
            switch self {
            case let .badSize(size): return "format table of \(size) bytes is not a whole number of 16-byte entries"
            case let .mmap(errno): return "mmap of the format table failed: \(errno.symbolicDescription)"
            }
        }
    }

    public var entries: [DmabufFormat]

    public init(entries: [DmabufFormat]) {
        self.entries = entries
    }

    /// Parses a table's bytes.
    public init(bytes: UnsafeRawBufferPointer) throws(Error) {
        guard bytes.count % Self.entrySize == 0 else { throw .badSize(bytes.count) }
        entries = stride(from: 0, to: bytes.count, by: Self.entrySize).map { at in
            DmabufFormat(format: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self),
                         modifier: bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
        }
    }

    /// Maps `size` bytes of the table file read-only and private, as the protocol requires, and
    /// parses them. Does not close `fileDescriptor`.
    public init(fileDescriptor: FileDescriptor, size: Int) throws(Error) {
        guard size % Self.entrySize == 0 else { throw .badSize(size) }
        guard size > 0 else {
            self.init(entries: [])
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fileDescriptor.rawValue, 0), address != MAP_FAILED else {
            throw .mmap(.current)
        }
        defer { munmap(address, size) }
        try self.init(bytes: UnsafeRawBufferPointer(start: address, count: size))
    }

    /// The table's bytes (what a compositor puts in the file).
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entries.count * Self.entrySize)
        bytes.withUnsafeMutableBytes { raw in
            for (index, entry) in entries.enumerated() {
                raw.storeBytes(of: entry.format, toByteOffset: index * Self.entrySize, as: UInt32.self)
                raw.storeBytes(of: entry.modifier, toByteOffset: index * Self.entrySize + 8, as: UInt64.self)
            }
        }
        return bytes
    }

    /// The entry at `index`, nil if out of range.
    public subscript(index: Int) -> DmabufFormat? {
        entries.indices.contains(index) ? entries[index] : nil
    }

    /// Resolves the bytes of a `tranche_formats` array (16-bit native-endian indices): the entries
    /// named, and the indices past the end of the table.
    public func resolve(trancheIndices bytes: [UInt8]) -> (formats: [DmabufFormat], invalidIndices: [UInt16]) {
        var formats: [DmabufFormat] = []
        var invalid: [UInt16] = []
        bytes.withUnsafeBytes { raw in
            for at in stride(from: 0, to: raw.count - 1, by: 2) {
                let index = raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)
                if let entry = self[Int(index)] { formats.append(entry) } else { invalid.append(index) }
            }
        }
        return (formats, invalid)
    }
}
