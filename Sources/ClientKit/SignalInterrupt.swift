import Glibc
import SystemPackage
import Synchronization

/// Turns signals (SIGINT, SIGTERM) into a readable file descriptor, so an event loop blocked in
/// `poll` wakes up at once and can stop cleanly (the self-pipe trick). A flag checked before
/// `poll` would race with a signal arriving just before the call, and a compositor that never
/// sends another event would then block the client forever.
///
/// Signal dispositions are process-wide, so at most one instance may exist at a time.
public final class SignalInterrupt {
    /// The pipe's write end, read by the signal handler. An atomic, not a lock: the handler must
    /// stay async-signal-safe. -1 when no instance is installed.
    private static let writeEnd = Atomic<Int32>(-1)

    private let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor
    private let signals: [Int32]

    /// The first signal received, or nil.
    public private(set) var receivedSignal: Int32?

    public var isTriggered: Bool {
        drain()
        return receivedSignal != nil
    }

    public init(signals: [Int32] = [SIGINT, SIGTERM]) throws {
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        for fd in [readEnd, writeEnd] {
            _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd.rawValue, F_SETFL, fcntl(fd.rawValue, F_GETFL) | O_NONBLOCK)
        }
        let (exchanged, _) = Self.writeEnd.compareExchange(
            expected: -1, desired: writeEnd.rawValue, ordering: .sequentiallyConsistent)
        guard exchanged else {
            try? readEnd.close()
            try? writeEnd.close()
            throw ClientError.system(operation: "SignalInterrupt (already installed)", errno: .resourceBusy)
        }
        self.readEnd = readEnd
        self.writeEnd = writeEnd
        self.signals = signals
        for signal in signals {
            _ = Glibc.signal(signal) { number in
                let fd = SignalInterrupt.writeEnd.load(ordering: .sequentiallyConsistent)
                guard fd >= 0 else { return }
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(fd, &byte, 1)
            }
        }
    }

    deinit {
        for signal in signals { _ = Glibc.signal(signal, SIG_DFL) }
        Self.writeEnd.store(-1, ordering: .sequentiallyConsistent)
        try? readEnd.close()
        try? writeEnd.close()
    }

    /// The descriptor to poll for readability.
    var fileDescriptor: FileDescriptor { readEnd }

    /// Empties the pipe, remembering the first signal seen.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { (try? readEnd.read(into: $0, retryOnInterrupt: true)) ?? 0 }
            guard count > 0 else { return }
            if receivedSignal == nil { receivedSignal = Int32(buffer[0]) }
        }
    }
}
