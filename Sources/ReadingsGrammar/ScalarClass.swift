/// Character classes used by the normaliser, the lexer and the phrase table,
/// with ASCII and Cyrillic answered without touching Unicode tables.
enum ScalarClass {
    @inline(__always)
    static func isDigit(_ s: UInt32) -> Bool { s &- 48 < 10 }

    @inline(__always)
    static func isHorizontalSpace(_ s: UInt32) -> Bool { s == 0x20 || s == 0x09 }

    static func isLetter(_ s: UInt32) -> Bool {
        if s < 0x80 { return (s | 0x20) &- 0x61 < 26 }
        if s >= 0x400 && s <= 0x52F { return true }
        if s == 0xAA || s == 0xB5 || s == 0xBA { return true }
        if s >= 0xC0 && s <= 0x24F { return s != 0xD7 && s != 0xF7 }
        guard let scalar = Unicode.Scalar(s) else { return false }
        let props = scalar.properties
        return props.isAlphabetic || props.generalCategory == .nonspacingMark
            || props.generalCategory == .spacingMark
    }

    static func isPunctuation(_ s: UInt32) -> Bool {
        if s < 0x80 {
            return (s >= 0x21 && s <= 0x2F) || (s >= 0x3A && s <= 0x40) || (s >= 0x5B && s <= 0x60)
                || (s >= 0x7B && s <= 0x7E)
        }
        if s < 0xC0 { return s == 0xAB || s == 0xBB || s == 0xA7 || s == 0xB7 || s == 0xBF || s == 0xA1 }
        guard let scalar = Unicode.Scalar(s) else { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Lower case, ё→е, Latin look-alikes → Cyrillic; used only for matching phrases.
    static func fold(_ s: UInt32) -> UInt32 {
        var c = s
        if c < 0x80 {
            if c &- 0x41 < 26 { c += 0x20 }
            switch c {
            case 0x61: return 0x430  // a
            case 0x62: return 0x432  // b (B)
            case 0x63: return 0x441  // c
            case 0x65: return 0x435  // e
            case 0x68: return 0x43D  // h (H)
            case 0x6B: return 0x43A  // k
            case 0x6D: return 0x43C  // m
            case 0x6F: return 0x43E  // o
            case 0x70: return 0x440  // p
            case 0x74: return 0x442  // t
            case 0x78: return 0x445  // x
            case 0x79: return 0x443  // y
            default: return c
            }
        }
        if c >= 0x410 && c <= 0x42F { return c + 0x20 }
        if c >= 0x400 && c <= 0x40F { c += 0x50 }
        if c == 0x451 { return 0x435 }
        if c >= 0x430 && c <= 0x45F { return c }
        if let scalar = Unicode.Scalar(c) {
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            if lower.count == 1, let first = lower.first { return first.value }
        }
        return c
    }
}
