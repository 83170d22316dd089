/// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header values.
///
/// Tolerances: words glued to other text are decoded; whitespace between two encoded words is
/// dropped; adjacent words in the same charset have their bytes joined before charset decoding
/// (so a multi-byte character split across words survives); an RFC 2231 `*lang` suffix on the
/// charset is ignored; unterminated or malformed words are left as text.
enum EncodedWord {
    private enum Token {
        case text([UInt8])
        case word(charset: String, bytes: [UInt8])
    }

    static func decode(_ value: String) -> String {
        var ignored: [MailDefect] = []
        return decode(value, defects: &ignored)
    }

    static func decode(_ value: String, defects: inout [MailDefect]) -> String {
        let u = Array(value.utf8)
        guard u.count >= 8, containsMarker(u) else { return value }
        var tokens: [Token] = []
        var literal: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] == 0x3D, i + 1 < u.count, u[i + 1] == 0x3F, let (token, next) = parseWord(u, at: i) {
                if !literal.isEmpty { tokens.append(.text(literal)); literal.removeAll() }
                tokens.append(token)
                i = next
                continue
            }
            literal.append(u[i])
            i += 1
        }
        if !literal.isEmpty { tokens.append(.text(literal)) }

        // Drop whitespace-only text between two words, then join same-charset neighbours
        // (appending in place, so that many small words stay linear).
        var merged: [(charset: String?, bytes: [UInt8])] = []
        var lastCanonical: String? = nil
        for (k, t) in tokens.enumerated() {
            switch t {
            case .text(let bytes):
                if k > 0, k + 1 < tokens.count,
                   bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }),
                   case .word = tokens[k - 1], case .word = tokens[k + 1] {
                    continue
                }
                merged.append((nil, bytes))
            case .word(let cs, let bytes):
                let canonical = Charset.canonicalName(cs) ?? cs.lowercased()
                if let last = merged.last, last.charset != nil, lastCanonical == canonical {
                    merged[merged.count - 1].bytes.append(contentsOf: bytes)
                } else {
                    merged.append((cs, bytes))
                    lastCanonical = canonical
                }
            }
        }
        var out = ""
        for t in merged {
            if let cs = t.charset {
                out += Charset.decode(t.bytes[...], declared: cs, defects: &defects)
            } else {
                out += String(decoding: t.bytes, as: UTF8.self)
            }
        }
        return out
    }

    private static func containsMarker(_ u: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < u.count {
            if u[i] == 0x3D && u[i + 1] == 0x3F { return true }
            i += 1
        }
        return false
    }

    /// Parses `=?cs?e?text?=` at `start`; nil when malformed (then it stays literal text).
    private static func parseWord(_ u: [UInt8], at start: Int) -> (Token, Int)? {
        var i = start + 2
        let csStart = i
        while i < u.count, u[i] != 0x3F {
            if u[i] <= 0x20 || u[i] >= 0x7F || i - csStart > 64 { return nil }
            i += 1
        }
        guard i < u.count, i > csStart else { return nil }
        let charset = String(decoding: u[csStart..<i], as: UTF8.self)
        i += 1
        guard i + 1 < u.count, u[i + 1] == 0x3F else { return nil }
        let enc = u[i] | 0x20
        guard enc == 0x62 || enc == 0x71 else { return nil }
        i += 2
        let textStart = i
        while i + 1 < u.count, !(u[i] == 0x3F && u[i + 1] == 0x3D) {
            if u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0A || u[i] == 0x0D { return nil }
            i += 1
        }
        guard i + 1 < u.count else { return nil }
        let text = u[textStart..<i]
        let bytes: [UInt8]
        if enc == 0x62 {
            var none: [MailDefect]? = nil
            bytes = Base64.decode(text, defects: &none)
        } else {
            bytes = qDecode(text)
        }
        return (.word(charset: charset, bytes: bytes), i + 2)
    }

    /// The "Q" encoding: `_` is a space, `=XX` a byte, anything else itself.
    static func qDecode(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = text.startIndex
        while i < text.endIndex {
            let b = text[i]
            if b == 0x5F { out.append(0x20); i += 1; continue }
            if b == 0x3D, text.endIndex - i >= 3, let h = QuotedPrintable.hex(text[i + 1]), let l = QuotedPrintable.hex(text[i + 2]) {
                out.append(h << 4 | l)
                i += 3
                continue
            }
            out.append(b)
            i += 1
        }
        return out
    }

    /// Encodes `text` as UTF-8 "B" encoded words of at most `maxRaw` bytes each (never splitting a
    /// character), for headers. Returns the words; the caller joins them with folding whitespace.
    static func encodeWords(_ text: String, maxRaw: Int = 39) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > maxRaw, !chunk.isEmpty {
                words.append("=?utf-8?B?" + Base64.encode(chunk) + "?=")
                chunk.removeAll()
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?" + Base64.encode(chunk) + "?=") }
        return words
    }
}
