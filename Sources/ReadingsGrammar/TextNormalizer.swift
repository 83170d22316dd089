import Foundation

/// The text after normalisation, as scalars with their UTF-8 offsets.
struct NormalizedText {
    var scalars: [UInt32] = []
    /// UTF-8 offset of each scalar, plus one final entry for the end.
    var offsets: [Int] = [0]
    /// The normalised text as UTF-8.
    var utf8: [UInt8] = []
    /// Indices of space scalars that may NOT separate thousands (tabs are never joinable anyway).
    var nonJoinableSpaces: Set<Int> = []
    /// The input was cut at `TextNormalizer.maxScalars`; `truncatedDigits`: the cut part had digits.
    var truncated = false
    var truncatedDigits = false
    /// The text held terminal escape sequences (ESC …, CSI, OSC): they were dropped whole,
    /// and the parser reads the text as ambiguous (no reading is taken from such a text).
    var escapeSequences = false

    var string: String { String(decoding: utf8, as: UTF8.self) }

    /// The text of scalars `start..<end`.
    @inline(__always)
    func string(_ start: Int, _ end: Int) -> String {
        String(decoding: utf8[offsets[start]..<offsets[end]], as: UTF8.self)
    }
}

/// NFKC, zero-width and variation selectors dropped, space-likes → ' ', dashes → '-',
/// any decimal digit → ASCII, CR/CRLF → LF. Control characters (C0 but tab, LF and CR; DEL;
/// C1) become a space that never joins digits, and a terminal escape sequence (ECMA-48: `ESC [`
/// or CSI parameters and final, `ESC ]` or OSC … BEL/ST, DCS/SOS/PM/APC strings, two- and
/// three-byte `ESC` sequences) is dropped whole, its parameter digits with it.
struct TextNormalizer {
    static let maxScalars = 32_768
    var thousandsSeparators: Set<UInt32>

    /// Marks a space-like that is not a thousands separator through NFKC.
    private static let nonJoinableMark: UInt32 = 0x1F

    func normalize(_ text: String) -> NormalizedText {
        var out = NormalizedText()
        var input: [UInt32] = []
        input.reserveCapacity(min(text.utf8.count, Self.maxScalars))
        var needsNFKC = false
        var count = 0
        let spaceJoins = thousandsSeparators.contains(0x20)
        var iterator = text.unicodeScalars.makeIterator()
        var escape = EscapeState.none
        while let scalar = iterator.next() {
            if count == Self.maxScalars {
                out.truncated = true
                var rest = scalar
                while true {
                    if ScalarClass.isDigit(rest.value) || rest.properties.numericType == .decimal {
                        out.truncatedDigits = true
                        break
                    }
                    guard let next = iterator.next() else { break }
                    rest = next
                }
                break
            }
            count += 1
            var s = scalar.value
            if escape != .none || s == 0x1B || (s >= 0x7F && s <= 0x9F) {
                switch Self.step(&escape, s) {
                case .consumed:
                    continue
                case .ended:
                    out.escapeSequences = true
                    input.append(Self.nonJoinableMark)
                    continue
                case .endedBefore:
                    // A broken sequence ends before this scalar, which is read as usual.
                    out.escapeSequences = true
                    input.append(Self.nonJoinableMark)
                    if s == 0x1B || (s >= 0x7F && s <= 0x9F) {
                        switch Self.step(&escape, s) {
                        case .consumed: continue
                        case .control: input.append(Self.nonJoinableMark); continue
                        default: break
                        }
                    }
                case .control:
                    input.append(Self.nonJoinableMark)
                    continue
                case .text:
                    break
                }
            }
            if s < 0x20, s != 0x09, s != 0x0A, s != 0x0D, s != 0x1F {
                input.append(Self.nonJoinableMark)
                continue
            }
            if s >= 0x80 {
                if Self.isSuperscriptOrFraction(s) {
                    // "м³", "½": NFKC would make digits of them; they are never a reading.
                    s = Self.nonJoinableMark
                } else if Self.isSpaceLike(s) {
                    s = thousandsSeparators.contains(s) ? 0x20 : Self.nonJoinableMark
                } else if s == 0x1F {
                    s = 0x09
                } else if !Self.isNFKCStable(s) {
                    needsNFKC = true
                }
            } else if s == 0x1F {
                s = 0x09
            } else if s == 0x20, !spaceJoins {
                s = Self.nonJoinableMark
            }
            input.append(s)
        }
        if escape != .none {
            // A sequence cut by the end of the text (or by the length limit).
            out.escapeSequences = true
        }
        if needsNFKC { input = Self.nfkc(input) }
        out.scalars.reserveCapacity(input.count)
        out.offsets.reserveCapacity(input.count + 1)
        out.utf8.reserveCapacity(input.count + input.count / 2)
        var offset = 0
        var previousCR = false
        for var s in input {
            if s < 0x80 {
                if s == 0x0D { previousCR = true; s = 0x0A } else if s == 0x0A && previousCR { previousCR = false; continue } else { previousCR = false }
                if s == Self.nonJoinableMark {
                    out.nonJoinableSpaces.insert(out.scalars.count)
                    s = 0x20
                } else if s < 0x20 && s != 0x0A && s != 0x09 {
                    s = 0x20
                }
            } else {
                previousCR = false
                if Self.isDropped(s) { continue }
                if Self.isSpaceLike(s) {
                    if s == 0x2028 || s == 0x2029 || s == 0x85 { s = 0x0A } else {
                        out.nonJoinableSpaces.insert(out.scalars.count)
                        s = 0x20
                    }
                } else if Self.isDash(s) {
                    s = 0x2D
                } else if s >= 0x660, let scalar = Unicode.Scalar(s), scalar.properties.numericType == .decimal,
                          let value = scalar.properties.numericValue, value >= 0, value <= 9 {
                    s = 0x30 + UInt32(value)
                }
            }
            out.scalars.append(s)
            if s < 0x80 {
                out.utf8.append(UInt8(s))
                offset += 1
            } else if let scalar = Unicode.Scalar(s) {
                let before = out.utf8.count
                out.utf8.append(contentsOf: UTF8.encode(scalar)!)
                offset += out.utf8.count - before
            }
            out.offsets.append(offset)
        }
        return out
    }

    /// Where a terminal escape sequence stands (ECMA-48 §5.3–5.6).
    enum EscapeState: Equatable {
        case none
        /// After ESC.
        case escape
        /// After ESC and intermediate bytes (0x20–0x2F): `ESC ( B`.
        case escapeIntermediate
        /// Control sequence: parameter bytes (0x30–0x3F), then intermediates, then a final byte.
        case csi(intermediates: Bool)
        /// OSC, DCS, SOS, PM, APC: a string up to BEL or ST.
        case string
        /// ESC inside such a string: `\` ends it (ST).
        case stringEscape
    }

    enum EscapeStep {
        /// Part of a sequence: dropped.
        case consumed
        /// The last scalar of a sequence: dropped, the sequence is over.
        case ended
        /// The sequence was broken off by this scalar, which is not part of it.
        case endedBefore
        /// A lone control character (C1, DEL).
        case control
        /// Ordinary text.
        case text
    }

    static func step(_ state: inout EscapeState, _ s: UInt32) -> EscapeStep {
        switch state {
        case .none:
            switch s {
            case 0x1B: state = .escape; return .consumed
            case 0x9B: state = .csi(intermediates: false); return .consumed
            case 0x90, 0x98, 0x9D, 0x9E, 0x9F: state = .string; return .consumed
            case 0x85: return .text  // NEL: a line break, read as such
            case 0x7F...0x9F: return .control
            default: return .text
            }
        case .escape:
            switch s {
            case 0x5B: state = .csi(intermediates: false); return .consumed
            case 0x5D, 0x50, 0x58, 0x5E, 0x5F: state = .string; return .consumed
            case 0x20...0x2F: state = .escapeIntermediate; return .consumed
            case 0x30...0x7E: state = .none; return .ended
            default: state = .none; return .endedBefore
            }
        case .escapeIntermediate:
            switch s {
            case 0x20...0x2F: return .consumed
            case 0x30...0x7E: state = .none; return .ended
            default: state = .none; return .endedBefore
            }
        case .csi(let intermediates):
            switch s {
            case 0x30...0x3F where !intermediates: return .consumed
            case 0x20...0x2F: state = .csi(intermediates: true); return .consumed
            case 0x40...0x7E: state = .none; return .ended
            default: state = .none; return .endedBefore
            }
        case .string:
            switch s {
            case 0x07, 0x9C: state = .none; return .ended
            case 0x1B: state = .stringEscape; return .consumed
            default: return .consumed
            }
        case .stringEscape:
            if s == 0x5C { state = .none; return .ended }
            // Another sequence starts: the string was never terminated.
            state = .escape
            return step(&state, s)
        }
    }

    @inline(__always)
    static func utf8Length(_ s: UInt32) -> Int {
        s < 0x80 ? 1 : s < 0x800 ? 2 : s < 0x10000 ? 3 : 4
    }

    static func isSpaceLike(_ s: UInt32) -> Bool {
        s == 0xA0 || s == 0x1680 || (s >= 0x2000 && s <= 0x200A) || s == 0x202F || s == 0x205F || s == 0x3000
            || s == 0x2028 || s == 0x2029 || s == 0x85
    }

    static func isDropped(_ s: UInt32) -> Bool {
        (s >= 0x200B && s <= 0x200D) || s == 0x2060 || s == 0xFEFF || s == 0xAD
            || (s >= 0xFE00 && s <= 0xFE0F) || s == 0x20E3 || (s >= 0xE0100 && s <= 0xE01EF) || s == 0xFFFE || s == 0xFFFF
            || (s >= 0x2061 && s <= 0x2064) || s == 0x200E || s == 0x200F || (s >= 0x202A && s <= 0x202E)
    }

    /// Superscript and subscript digits and signs (`²`, `³`, `¹`, `⁴`, `₂`), vulgar fractions (`½`).
    static func isSuperscriptOrFraction(_ s: UInt32) -> Bool {
        s == 0xB2 || s == 0xB3 || s == 0xB9 || (s >= 0xBC && s <= 0xBE) || (s >= 0x2070 && s <= 0x209F)
            || (s >= 0x2150 && s <= 0x215F) || s == 0x2189
    }

    static func isDash(_ s: UInt32) -> Bool {
        (s >= 0x2010 && s <= 0x2015) || s == 0x2212 || s == 0xFE58 || s == 0xFE63 || s == 0xFF0D
    }

    /// Scalars NFKC leaves alone (or that we map ourselves): skip the Foundation call for them.
    static func isNFKCStable(_ s: UInt32) -> Bool {
        if s >= 0x400 && s <= 0x45F { return true }
        if s >= 0xC0 && s <= 0x17F { return s != 0x132 && s != 0x133 && s != 0x13F && s != 0x140 && s != 0x149 && s != 0x17F }
        if s == 0xAB || s == 0xBB || s == 0xA7 || s == 0xB0 || s == 0xA9 || s == 0xAE || s == 0xB1 || s == 0xB7 { return true }
        if s == 0x2116 { return true }  // № is kept as it is (NFKC would make it "No")
        if isDropped(s) || isDash(s) || isSpaceLike(s) { return true }
        if (s >= 0x2018 && s <= 0x201F) || s == 0x2022 || s == 0x2026 || s == 0x20BD || s == 0x20AC { return s != 0x2024 && s != 0x2025 && s != 0x2026 }
        if (s >= 0x2600 && s <= 0x27BF) || (s >= 0x1F300 && s <= 0x1FAFF) || (s >= 0x2B00 && s <= 0x2BFF) { return true }
        return false
    }

    /// NFKC of the whole array, keeping '№' as it is.
    static func nfkc(_ input: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(input.count)
        var piece = String.UnicodeScalarView()
        func flush() {
            guard !piece.isEmpty else { return }
            let composed = String(piece).precomposedStringWithCompatibilityMapping
            for u in composed.unicodeScalars { result.append(u.value) }
            piece = String.UnicodeScalarView()
        }
        for s in input {
            if s == 0x2116 {
                flush()
                result.append(s)
            } else if let u = Unicode.Scalar(s) {
                piece.append(u)
            }
        }
        flush()
        return result
    }
}
