import Glibc
import SystemPackage

extension Errno {
    /// The calling thread's errno, as a typed value.
    package static var current: Errno { Errno(rawValue: errno) }
}
