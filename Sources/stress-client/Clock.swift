import Glibc

// monotonicSeconds() comes from WaylandTestSupport (shared with the fuzzer and the tests).

/// `value` rounded to `digits` decimals; Swift prints the shortest form (30.4, not 30.399999).
func rounded(_ value: Double, digits: Int = 1) -> Double {
    let scale = Double((0..<digits).reduce(1) { product, _ in product * 10 })
    return (value * scale).rounded() / scale
}
