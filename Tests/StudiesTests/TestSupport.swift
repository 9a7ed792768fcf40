/// Relative closeness check of the study tests (0.1% by default).
func close(_ a: Double, _ b: Double, tolerance: Double = 1e-3) -> Bool {
    if a == b { return true }
    return abs(a - b) <= tolerance * max(abs(a), abs(b))
}
