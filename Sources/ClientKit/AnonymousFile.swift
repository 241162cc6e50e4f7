import CWayland
import Glibc
import SystemPackage

/// A nameless, shareable file that backs `wl_shm` pools.
///
/// Made the way libwayland's cursor code makes its anonymous files, as a chain of fallbacks
/// (`Strategy.automatic`): a sealed memfd first, then a POSIX shared-memory object unlinked at
/// once, then a temporary file in `$XDG_RUNTIME_DIR` unlinked at once. Only the memfd can carry
/// `F_SEAL_SHRINK`, which is what lets a compositor map the file without risking SIGBUS; the two
/// fallbacks work everywhere but leave the compositor to guard its reads.
///
/// Owns its descriptor (close-on-exec; closed on deinit). See docs/clientkit.md.
public final class AnonymousFile {
    /// How to make the file. `automatic` tries the others in order; `usedStrategy` is never it.
    public enum Strategy: String, Sendable, CaseIterable, CustomStringConvertible {
        /// memfd, then shm-open, then runtime-dir: the first that succeeds.
        case automatic = "auto"
        /// `memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL)` (without
        /// `MFD_NOEXEC_SEAL` on kernels before 6.3), sealed with `F_SEAL_SHRINK | F_SEAL_SEAL`.
        case memfd = "memfd"
        /// `shm_open` of a random name with `O_EXCL`, then `shm_unlink` at once
        /// (`SHM_ANON` on FreeBSD). Not sealable.
        case shmOpen = "shm-open"
        /// `mkostemp(O_CLOEXEC)` in `$XDG_RUNTIME_DIR`, then `unlink` at once. Not sealable.
        case runtimeDirFile = "runtime-dir"

        /// The concrete strategies this one tries, in order.
        public var chain: [Strategy] {
            self == .automatic ? [.memfd, .shmOpen, .runtimeDirFile] : [self]
        }

        public var description: String { rawValue }
    }

    /// Why one strategy failed.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A system call failed (`call` names it, e.g. `memfd_create`, `shm_open`, `F_ADD_SEALS`).
        case system(call: String, errno: Errno)
        /// `$XDG_RUNTIME_DIR` is not set (or empty).
        case runtimeDirectoryUnset
        /// `$XDG_RUNTIME_DIR` is not an absolute path.
        case runtimeDirectoryNotAbsolute(String)
        /// Every random name tried already existed (`EEXIST` each time).
        case namesExhausted(tries: Int)
        /// The strategy cannot make what was asked for (sealed read-only files need memfd).
        case unsupported(String)
        /// The requested size is not positive.
        case invalidSize(Int)

        public var description: String {
            switch self {
            case let .system(call, errno): return "\(call) failed: \(errno.symbolicDescription)"
            case .runtimeDirectoryUnset: return "XDG_RUNTIME_DIR is not set"
            case let .runtimeDirectoryNotAbsolute(path): return "XDG_RUNTIME_DIR is not an absolute path: '\(path)'"
            case let .namesExhausted(tries): return "shm_open failed: EEXIST for \(tries) random names in a row"
            case let .unsupported(what): return what
            case let .invalidSize(size): return "invalid size \(size) (must be positive)"
            }
        }

        /// The errno behind a failed system call, if that is what it was.
        public var errno: Errno? {
            if case let .system(_, errno) = self { return errno }
            return nil
        }
    }

    /// One strategy that was tried and failed.
    public typealias Attempt = StrategyAttempt<Strategy, Failure>

    /// Replaceable parts, so tests can force failures and collisions without an old kernel.
    public struct Options: Sendable {
        /// The memfd name, and the prefix of shm names (`/<name>-<random>`) and runtime-dir files.
        public var name: String
        /// `memfd_create(name, flags)`: returns the descriptor or throws the errno.
        public var memfdCreate: @Sendable (_ name: String, _ flags: UInt32) throws(Errno) -> Int32
        /// A fresh random name component (no `/`), called once per shm_open try.
        public var randomName: @Sendable () -> String
        /// The runtime directory (default: `$XDG_RUNTIME_DIR`, read at each use); nil means unset.
        public var runtimeDirectory: @Sendable () -> String?
        /// How many random names shm-open tries before giving up on `EEXIST`.
        public var shmOpenAttempts: Int

        public init(
            name: String = "clientkit-shm",
            memfdCreate: @escaping @Sendable (_ name: String, _ flags: UInt32) throws(Errno) -> Int32 = AnonymousFile.systemMemfdCreate,
            randomName: @escaping @Sendable () -> String = AnonymousFile.randomName,
            runtimeDirectory: @escaping @Sendable () -> String? = AnonymousFile.environmentRuntimeDirectory,
            shmOpenAttempts: Int = 100
        ) {
            self.name = name
            self.memfdCreate = memfdCreate
            self.randomName = randomName
            self.runtimeDirectory = runtimeDirectory
            self.shmOpenAttempts = shmOpenAttempts
        }

        /// Options whose runtime directory is `path` (nil: unset), whatever the environment says.
        public func withRuntimeDirectory(_ path: String?) -> Options {
            var copy = self
            copy.runtimeDirectory = { path }
            return copy
        }
    }

    public let fileDescriptor: FileDescriptor
    /// The strategy that made the file: `memfd`, `shmOpen` or `runtimeDirFile`, never `automatic`.
    public let usedStrategy: Strategy
    /// The strategies that failed before `usedStrategy` succeeded (empty if the first did).
    public let failedAttempts: [Attempt]
    /// The name the file had: the memfd name, the shm name, or the runtime-dir path (the last
    /// two already unlinked; nil for FreeBSD's `SHM_ANON`).
    public let name: String?
    public private(set) var size: Int

    /// Creates a file of `size` bytes. With `.automatic` tries memfd, shm-open, runtime-dir in
    /// order, moving on after any failure; the error lists every attempt.
    public init(size: Int, strategy: Strategy = .automatic, options: Options = Options()) throws(AnonymousFileError) {
        var attempts: [Attempt] = []
        guard size > 0 else {
            throw AnonymousFileError(requested: strategy, attempts: strategy.chain.map { Attempt(strategy: $0, failure: .invalidSize(size)) })
        }
        for candidate in strategy.chain {
            do throws(Failure) {
                let (fd, name) = try Self.make(candidate, size: size, options: options)
                self.fileDescriptor = fd
                self.usedStrategy = candidate
                self.failedAttempts = attempts
                self.name = name
                self.size = size
                return
            } catch {
                attempts.append(Attempt(strategy: candidate, failure: error))
            }
        }
        throw AnonymousFileError(requested: strategy, attempts: attempts)
    }

    /// A file holding exactly `contents`, sealed with `F_SEAL_SHRINK | F_SEAL_GROW |
    /// F_SEAL_WRITE | F_SEAL_SEAL`: nobody (this process included) can change it any more, so the
    /// other side may trust what it reads. Needs a memfd: `strategy` must be `.memfd` or
    /// `.automatic` (which then means memfd only); any other strategy throws `unsupported`.
    public static func sealedReadOnly(
        contents: UnsafeRawBufferPointer, strategy: Strategy = .automatic, options: Options = Options()
    ) throws(AnonymousFileError) -> AnonymousFile {
        guard strategy == .memfd || strategy == .automatic else {
            throw AnonymousFileError(requested: strategy, attempts: [
                Attempt(strategy: strategy, failure: .unsupported("a read-only sealed file needs a memfd; \(strategy) files cannot be sealed")),
            ])
        }
        guard contents.count > 0 else {
            throw AnonymousFileError(requested: strategy, attempts: [Attempt(strategy: .memfd, failure: .invalidSize(0))])
        }
        do throws(Failure) {
            let fd = try makeMemfd(name: options.name, options: options)
            do throws(Failure) {
                try writeAll(fd, contents)
                let seals = Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_GROW | CW_F_SEAL_WRITE | CW_F_SEAL_SEAL)
                guard fcntl(fd.rawValue, Int32(CW_F_ADD_SEALS), seals) == 0 else {
                    throw .system(call: "fcntl(F_ADD_SEALS)", errno: .current)
                }
            } catch {
                try? fd.close()
                throw error
            }
            return AnonymousFile(adopting: fd, size: contents.count, strategy: .memfd, name: options.name)
        } catch {
            throw AnonymousFileError(requested: strategy, attempts: [Attempt(strategy: .memfd, failure: error)])
        }
    }

    /// Wraps a descriptor made elsewhere (the misbehaviour modes make deliberately bad files).
    public init(adopting fd: FileDescriptor, size: Int, strategy: Strategy, name: String?) {
        self.fileDescriptor = fd
        self.usedStrategy = strategy
        self.failedAttempts = []
        self.name = name
        self.size = size
    }

    deinit {
        try? fileDescriptor.close()
    }

    /// Grows the file (a pool resize). Allowed under `F_SEAL_SHRINK`, and keeps every seal.
    /// Shrinking is impossible: the seal forbids it and the compositor may still map the old length.
    public func grow(to newSize: Int) throws(Errno) {
        precondition(newSize >= size, "anonymous files only grow")
        guard newSize > size else { return }
        do throws(Failure) {
            try Self.allocate(fileDescriptor, size: newSize)
        } catch {
            throw error.errno ?? .invalidArgument
        }
        size = newSize
    }

    /// The seals on the file (`F_GET_SEALS`), e.g. `CW_F_SEAL_SHRINK`. Files that cannot be
    /// sealed report `F_SEAL_SEAL` alone (shm-open, runtime-dir on tmpfs) or -1 (other file systems).
    public var seals: Int32 {
        fcntl(fileDescriptor.rawValue, Int32(CW_F_GET_SEALS))
    }

    // MARK: Defaults

    /// The real `memfd_create` (through the CWayland shim).
    @Sendable public static func systemMemfdCreate(name: String, flags: UInt32) throws(Errno) -> Int32 {
        let fd = cw_memfd_create(name, flags)
        guard fd >= 0 else { throw Errno.current }
        return fd
    }

    /// 12 random characters from `[A-Za-z0-9]`.
    @Sendable public static func randomName() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<12).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// `$XDG_RUNTIME_DIR`, or nil when unset or empty.
    @Sendable public static func environmentRuntimeDirectory() -> String? {
        guard let value = getenv("XDG_RUNTIME_DIR") else { return nil }
        let path = String(cString: value)
        return path.isEmpty ? nil : path
    }

    // MARK: Strategies

    private static func make(_ strategy: Strategy, size: Int, options: Options) throws(Failure) -> (FileDescriptor, String?) {
        let (fd, name): (FileDescriptor, String?)
        switch strategy {
        case .automatic: preconditionFailure("automatic is a chain, not a strategy")
        case .memfd: (fd, name) = (try makeMemfd(name: options.name, options: options), options.name)
        case .shmOpen: (fd, name) = try makeShmOpen(options: options)
        case .runtimeDirFile: (fd, name) = try makeRuntimeDirFile(options: options)
        }
        do throws(Failure) {
            try allocate(fd, size: size)
            if strategy == .memfd {
                // Nothing may shrink the file under the compositor's mapping. F_SEAL_SEAL: no other
                // seal is ever added to a pool file, and growing (pool resize) stays allowed.
                let seals = Int32(CW_F_SEAL_SHRINK | CW_F_SEAL_SEAL)
                guard fcntl(fd.rawValue, Int32(CW_F_ADD_SEALS), seals) == 0 else {
                    throw .system(call: "fcntl(F_ADD_SEALS)", errno: .current)
                }
            }
        } catch {
            try? fd.close()
            throw error
        }
        return (fd, name)
    }

    /// An empty sealable memfd, `MFD_NOEXEC_SEAL` included where the kernel knows it.
    private static func makeMemfd(name: String, options: Options) throws(Failure) -> FileDescriptor {
        let base = UInt32(CW_MFD_CLOEXEC) | UInt32(CW_MFD_ALLOW_SEALING)
        do throws(Errno) {
            return FileDescriptor(rawValue: try options.memfdCreate(name, base | UInt32(CW_MFD_NOEXEC_SEAL)))
        } catch where error == .invalidArgument {
            // Kernels before 6.3 reject the unknown MFD_NOEXEC_SEAL flag with EINVAL.
        } catch {
            throw .system(call: "memfd_create", errno: error)
        }
        do throws(Errno) {
            return FileDescriptor(rawValue: try options.memfdCreate(name, base))
        } catch {
            throw .system(call: "memfd_create", errno: error)
        }
    }

    private static func makeShmOpen(options: Options) throws(Failure) -> (FileDescriptor, String?) {
        #if os(FreeBSD)
        let fd = shm_open(SHM_ANON, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(call: "shm_open(SHM_ANON)", errno: .current) }
        return (FileDescriptor(rawValue: fd), nil)
        #else
        let prefix = sanitized(options.name)
        let tries = max(options.shmOpenAttempts, 1)
        for _ in 0..<tries {
            let name = "/\(prefix)-\(sanitized(options.randomName()))"
            let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 {
                let error = Errno.current
                if error == .fileExists { continue }  // someone has that name: draw another
                throw .system(call: "shm_open", errno: error)
            }
            // Nameless from here on: nothing lingers in /dev/shm, whatever happens next.
            if shm_unlink(name) != 0 {
                let error = Errno.current
                _ = Glibc.close(fd)
                throw .system(call: "shm_unlink", errno: error)
            }
            return (FileDescriptor(rawValue: fd), name)
        }
        throw .namesExhausted(tries: tries)
        #endif
    }

    private static func makeRuntimeDirFile(options: Options) throws(Failure) -> (FileDescriptor, String?) {
        guard let directory = options.runtimeDirectory(), !directory.isEmpty else { throw .runtimeDirectoryUnset }
        guard directory.hasPrefix("/") else { throw .runtimeDirectoryNotAbsolute(directory) }
        let separator = directory.hasSuffix("/") ? "" : "/"
        var template = Array("\(directory)\(separator)\(sanitized(options.name))-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { cw_mkostemp($0.baseAddress!, O_CLOEXEC) }
        guard fd >= 0 else { throw .system(call: "mkostemp", errno: .current) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if unlink(path) != 0 {
            let error = Errno.current
            _ = Glibc.close(fd)
            throw .system(call: "unlink", errno: error)
        }
        return (FileDescriptor(rawValue: fd), path)
    }

    private static func sanitized(_ component: String) -> String {
        let cleaned = String(component.map { $0 == "/" ? "-" : $0 })
        return cleaned.isEmpty ? "clientkit-shm" : cleaned
    }

    /// Reserves the blocks up front so a full tmpfs fails here, not as SIGBUS on first write.
    /// Falls back to ftruncate where the file system cannot preallocate.
    public static func allocate(_ fd: FileDescriptor, size: Int) throws(Failure) {
        var result: Int32
        repeat {
            result = posix_fallocate(fd.rawValue, 0, off_t(size)) // returns the error, not errno
        } while result == EINTR
        if result == 0 { return }
        guard result == EINVAL || result == EOPNOTSUPP else {
            throw .system(call: "posix_fallocate", errno: Errno(rawValue: result))
        }
        var truncated: Int32
        repeat {
            truncated = ftruncate(fd.rawValue, off_t(size))
        } while truncated < 0 && Glibc.errno == EINTR
        guard truncated == 0 else { throw .system(call: "ftruncate", errno: .current) }
    }

    private static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var written = 0
        while written < bytes.count {
            let count = pwrite(fd.rawValue, bytes.baseAddress! + written, bytes.count - written, off_t(written))
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                throw .system(call: "pwrite", errno: .current)
            }
            written += count
        }
    }
}

/// No strategy could make the file. Lists every attempt, in order.
public struct AnonymousFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was asked for (`automatic` for the whole chain).
    public var requested: AnonymousFile.Strategy
    /// One entry per strategy tried, in order.
    public var attempts: [AnonymousFile.Attempt]

    public init(requested: AnonymousFile.Strategy, attempts: [AnonymousFile.Attempt]) {
        self.requested = requested
        self.attempts = attempts
    }

    public var description: String {
        "cannot create an anonymous file (\(requested)): " + attempts.map(\.description).joined(separator: "; ")
    }
}

extension Errno {
    /// The calling thread's errno now.
    public static var current: Errno { Errno(rawValue: Glibc.errno) }

    /// `ENOSYS (Function not implemented)`: the symbol where known, then the text.
    public var symbolicDescription: String {
        let names: [Int32: String] = [
            Glibc.EPERM: "EPERM", Glibc.ENOENT: "ENOENT", Glibc.EINTR: "EINTR", Glibc.EIO: "EIO", Glibc.EBADF: "EBADF",
            Glibc.EAGAIN: "EAGAIN", Glibc.ENOMEM: "ENOMEM", Glibc.EACCES: "EACCES", Glibc.EBUSY: "EBUSY", Glibc.EEXIST: "EEXIST",
            Glibc.ENOTDIR: "ENOTDIR", Glibc.EISDIR: "EISDIR", Glibc.EINVAL: "EINVAL", Glibc.ENFILE: "ENFILE", Glibc.EMFILE: "EMFILE",
            Glibc.EFBIG: "EFBIG", Glibc.ENOSPC: "ENOSPC", Glibc.EROFS: "EROFS", Glibc.ENAMETOOLONG: "ENAMETOOLONG",
            Glibc.ENOSYS: "ENOSYS", Glibc.EOPNOTSUPP: "EOPNOTSUPP", Glibc.ESPIPE: "ESPIPE", Glibc.ENODEV: "ENODEV",
            Glibc.ENOTTY: "ENOTTY", Glibc.EBADFD: "EBADFD", Glibc.ENXIO: "ENXIO", Glibc.E2BIG: "E2BIG",
            Glibc.EPROTO: "EPROTO", Glibc.EFAULT: "EFAULT",
        ]
        let text = String(cString: strerror(rawValue))
        return names[rawValue].map { "\($0) (\(text))" } ?? "errno \(rawValue) (\(text))"
    }
}
