import Glibc

/// RLIMIT_NOFILE: one process holding 1,000+ connections needs more descriptors than the usual
/// soft limit of 1,024. The soft limit is raised to the hard one; the caller checks the result.
enum FileLimit {
    /// The soft limit after raising it as far as allowed.
    @discardableResult
    static func raiseSoftLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
            _ = getrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Glibc imports RLIMIT_NOFILE as an enum case (`__rlimit_resource`) on Linux.
    private static var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
