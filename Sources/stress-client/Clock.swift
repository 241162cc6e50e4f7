import Glibc

/// Seconds on CLOCK_MONOTONIC.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `value` rounded to `digits` decimals; Swift prints the shortest form (30.4, not 30.399999).
func rounded(_ value: Double, digits: Int = 1) -> Double {
    let scale = Double((0..<digits).reduce(1) { product, _ in product * 10 })
    return (value * scale).rounded() / scale
}
