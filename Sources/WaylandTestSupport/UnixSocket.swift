import Glibc

/// A non-blocking, close-on-exec AF_UNIX stream socket connected to a compositor, with
/// SCM_RIGHTS on both directions. The fuzzer and the tests speak the wire protocol themselves:
/// libwayland-client refuses (or aborts on) much of what they send.
public final class UnixSocket {
    public private(set) var fd: Int32

    public enum SendResult { case sent(Int), wouldBlock, failed(Int32) }
    public enum ReceiveResult { case data(Int), wouldBlock, endOfFile, failed(Int32) }

    public struct ConnectError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectError(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw ConnectError(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw ConnectError(description: "connect \(path): \(String(cString: strerror(e)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// cmsghdr is { size_t len; int level; int type; } followed by data aligned to size_t.
    private static let headerSize = MemoryLayout<cmsghdr>.size
    private static func align(_ n: Int) -> Int { (n + MemoryLayout<Int>.size - 1) & ~(MemoryLayout<Int>.size - 1) }
    private static func space(_ dataBytes: Int) -> Int { align(headerSize) + align(dataBytes) }

    /// One sendmsg of `bytes` with `fds` attached (SCM_RIGHTS). The fds stay open (the caller owns them).
    public func send(_ bytes: ArraySlice<UInt8>, fds: [Int32]) -> SendResult {
        guard fd >= 0 else { return .failed(EBADF) }
        var control = [UInt8](repeating: 0, count: fds.isEmpty ? 0 : Self.space(fds.count * 4))
        let n: Int = bytes.withUnsafeBytes { body in
            control.withUnsafeMutableBytes { ctl in
                var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var msg = msghdr()
                    msg.msg_iov = iovp
                    msg.msg_iovlen = 1
                    if !fds.isEmpty {
                        let header = ctl.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
                        header.pointee.cmsg_len = Self.align(Self.headerSize) + fds.count * 4
                        header.pointee.cmsg_level = SOL_SOCKET
                        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
                        let data = ctl.baseAddress! + Self.align(Self.headerSize)
                        for (i, f) in fds.enumerated() { data.storeBytes(of: f, toByteOffset: i * 4, as: Int32.self) }
                        msg.msg_control = ctl.baseAddress
                        msg.msg_controllen = ctl.count
                    }
                    return sendmsg(fd, &msg, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                }
            }
        }
        if n >= 0 { return .sent(n) }
        let e = errno
        return e == EAGAIN || e == EINTR ? .wouldBlock : .failed(e)
    }

    /// One recvmsg into `buffer`; every fd that came along is closed at once (no raw client uses
    /// a received fd) and counted in `receivedFds`.
    public func receive(into buffer: inout [UInt8], receivedFds: inout Int) -> ReceiveResult {
        guard fd >= 0 else { return .failed(EBADF) }
        var chunk = [UInt8](repeating: 0, count: 8192)
        var control = [UInt8](repeating: 0, count: Self.space(64 * 4))
        let n: Int = chunk.withUnsafeMutableBytes { body in
            control.withUnsafeMutableBytes { ctl in
                var iov = iovec(iov_base: body.baseAddress, iov_len: body.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var msg = msghdr()
                    msg.msg_iov = iovp
                    msg.msg_iovlen = 1
                    msg.msg_control = ctl.baseAddress
                    msg.msg_controllen = ctl.count
                    let r = recvmsg(fd, &msg, Int32(MSG_DONTWAIT) | Int32(MSG_CMSG_CLOEXEC))
                    if r > 0 { receivedFds += Self.closeReceived(ctl, length: Int(msg.msg_controllen)) }
                    return r
                }
            }
        }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return .data(n)
        }
        if n == 0 { return .endOfFile }
        let e = errno
        return e == EAGAIN || e == EINTR ? .wouldBlock : (e == ECONNRESET ? .endOfFile : .failed(e))
    }

    private static func closeReceived(_ control: UnsafeMutableRawBufferPointer, length: Int) -> Int {
        var offset = 0
        var count = 0
        while offset + headerSize <= length {
            let header = control.baseAddress!.advanced(by: offset).assumingMemoryBound(to: cmsghdr.self).pointee
            let len = Int(header.cmsg_len)
            guard len >= align(headerSize), offset + len <= length else { break }
            if header.cmsg_level == SOL_SOCKET && header.cmsg_type == Int32(SCM_RIGHTS) {
                let data = control.baseAddress!.advanced(by: offset + align(headerSize))
                for i in 0..<((len - align(headerSize)) / 4) {
                    Glibc.close(data.load(fromByteOffset: i * 4, as: Int32.self))
                    count += 1
                }
            }
            offset += align(len)
        }
        return count
    }
}
