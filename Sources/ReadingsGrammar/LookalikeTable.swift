/// Characters that stand for digits inside digit runs, with a flat table for the
/// scalars a text mostly holds (below U+0500).
struct LookalikeTable: Sendable {
    private var low = [UInt8](repeating: 0, count: 0x500)
    private var high: [UInt32: UInt8] = [:]

    /// The ASCII digit byte a look-alike stands for.
    @inline(__always)
    subscript(_ scalar: UInt32) -> UInt8? {
        get {
            if scalar < 0x500 {
                let digit = low[Int(scalar)]
                return digit == 0 ? nil : digit
            }
            return high.isEmpty ? nil : high[scalar]
        }
        set {
            if scalar < 0x500 { low[Int(scalar)] = newValue ?? 0 } else { high[scalar] = newValue }
        }
    }
}
