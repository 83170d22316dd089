/// A meter reading as a fixed-point decimal: thousandths in an `Int64`
/// (3 fraction digits, up to 15 integer digits).
public struct MeterValue: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value times 1000.
    public var thousandths: Int64

    static let maxIntegerDigits = 15

    public init(thousandths: Int64) {
        self.thousandths = thousandths
    }

    /// Parses `digits[.digits]` ("04488" → 4488, "33690.5", "12345.00" → 12345).
    /// Accepts '.' only; fraction digits beyond the third must be zeros.
    public init?(_ text: String) {
        var integer: Int64 = 0
        var integerDigits = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var sawDot = false
        var anyBeforeDot = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
                continue
            }
            guard byte >= 48, byte <= 57 else { return nil }
            let digit = Int64(byte - 48)
            if sawDot {
                fractionDigits += 1
                if fractionDigits <= 3 {
                    fraction = fraction * 10 + digit
                } else if digit != 0 {
                    return nil
                }
            } else {
                anyBeforeDot = true
                if integerDigits == 0 && digit == 0 { continue }
                integerDigits += 1
                if integerDigits > Self.maxIntegerDigits { return nil }
                integer = integer * 10 + digit
            }
        }
        guard anyBeforeDot, !sawDot || fractionDigits > 0 else { return nil }
        var scaled = fraction
        var kept = min(fractionDigits, 3)
        while kept < 3 {
            scaled *= 10
            kept += 1
        }
        thousandths = integer * 1000 + scaled
    }

    public var description: String {
        let negative = thousandths < 0
        let magnitude = thousandths.magnitude
        let integer = magnitude / 1000
        var fraction = magnitude % 1000
        var text = negative ? "-" : ""
        text += String(integer)
        if fraction != 0 {
            var width = 3
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: width - digits.count) + digits
        }
        return text
    }

    /// Digits of the integer part without leading zeros (0 → 1).
    public var significantIntegerDigits: Int {
        var integer = thousandths.magnitude / 1000
        var count = 1
        while integer >= 10 {
            integer /= 10
            count += 1
        }
        return count
    }

    public static func + (a: MeterValue, b: MeterValue) -> MeterValue {
        MeterValue(thousandths: a.thousandths &+ b.thousandths)
    }

    public static func - (a: MeterValue, b: MeterValue) -> MeterValue {
        MeterValue(thousandths: a.thousandths &- b.thousandths)
    }

    public static func < (a: MeterValue, b: MeterValue) -> Bool {
        a.thousandths < b.thousandths
    }

    /// 10^n (n clamped to 0...15), for register wrap-around.
    public static func powerOfTen(_ n: Int) -> MeterValue {
        var value: Int64 = 1000
        for _ in 0..<max(0, min(n, maxIntegerDigits)) { value *= 10 }
        return MeterValue(thousandths: value)
    }
}
