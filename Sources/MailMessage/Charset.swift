#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Charset labels as found in mail, mapped to names glibc iconv accepts, and decoding through iconv.
///
/// Thread safety: every conversion opens and closes its own `iconv_t`, nothing is shared.
enum Charset {
    /// Exact aliases seen in the wild that iconv (or Python) refuses, or that we want pinned.
    private static let aliases: [String: String] = [
        // Windows-1251
        "cp1251": "WINDOWS-1251", "cp-1251": "WINDOWS-1251", "win-1251": "WINDOWS-1251",
        "win1251": "WINDOWS-1251", "windows1251": "WINDOWS-1251", "windows-1251": "WINDOWS-1251",
        "windows-cp1251": "WINDOWS-1251", "microsoft-cp1251": "WINDOWS-1251", "ms-1251": "WINDOWS-1251",
        "cp_1251": "WINDOWS-1251", "windows_1251": "WINDOWS-1251", "1251": "WINDOWS-1251",
        // KOI8
        "koi8-r": "KOI8-R", "koi8r": "KOI8-R", "koi8": "KOI8-R", "koi-8-r": "KOI8-R", "koi8_r": "KOI8-R",
        "cskoi8r": "KOI8-R", "koi-8": "KOI8-R",
        "koi8-u": "KOI8-U", "koi8u": "KOI8-U", "koi8_u": "KOI8-U", "koi-8-u": "KOI8-U",
        "koi8-ru": "KOI8-RU",
        // Unicode
        "utf-8": "UTF-8", "utf8": "UTF-8", "utf_8": "UTF-8", "unicode-1-1-utf-8": "UTF-8", "unicode-2-0-utf-8": "UTF-8",
        // Latin-1
        "latin1": "ISO-8859-1", "latin-1": "ISO-8859-1", "iso8859-1": "ISO-8859-1", "iso-8859-1": "ISO-8859-1",
        "iso_8859-1": "ISO-8859-1", "iso88591": "ISO-8859-1", "l1": "ISO-8859-1", "cp819": "ISO-8859-1",
        // DOS Cyrillic
        "cp866": "CP866", "ibm866": "CP866", "866": "CP866", "csibm866": "CP866", "dos-866": "CP866", "cp-866": "CP866",
        // ASCII
        "us-ascii": "ASCII", "ascii": "ASCII", "ansi_x3.4-1968": "ASCII", "us": "ASCII", "iso646-us": "ASCII",
        "cp367": "ASCII", "ansi_x3.4-1986": "ASCII", "iso-ir-6": "ASCII",
        // Other Cyrillic
        "iso-8859-5": "ISO-8859-5", "iso8859-5": "ISO-8859-5", "iso_8859-5": "ISO-8859-5", "cyrillic": "ISO-8859-5",
        "mac-cyrillic": "MACCYRILLIC", "maccyrillic": "MACCYRILLIC",
        "windows-1252": "WINDOWS-1252", "cp1252": "WINDOWS-1252", "win-1252": "WINDOWS-1252",
    ]

    /// The iconv name for a mail charset label, or nil when it is not a plausible charset name.
    /// Normalises case, quotes, an RFC 2231 `*language` suffix, `x-` prefixes and `win`/`cp`/`ms` spellings.
    static func canonicalName(_ label: String) -> String? {
        var s = label.trimmingASCIIWhitespace().lowercased()
        if s.hasPrefix("\"") { s.removeFirst() }
        if s.hasSuffix("\"") { s.removeLast() }
        if let star = s.firstIndex(of: "*") { s = String(s[..<star]) }
        if s.isEmpty || s.utf8.count > 40 { return nil }
        if let a = aliases[s] { return a }
        if s.hasPrefix("x-") {
            let rest = String(s.dropFirst(2))
            if let a = aliases[rest] { return a }
            s = rest
        }
        // win-NNNN, winNNNN, cp-NNNN, cpNNNN, ms-NNNN, windowsNNNN: the 125x family is Windows.
        for prefix in ["windows-", "windows", "win-", "win", "cp-", "cp_", "cp", "ms-", "ms"] where s.hasPrefix(prefix) {
            let digits = s.dropFirst(prefix.count)
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                if digits.count == 4, digits.hasPrefix("125") { return "WINDOWS-" + digits }
                return "CP" + digits
            }
        }
        if s.hasPrefix("iso8859-") { s = "iso-8859-" + s.dropFirst(8) }
        if s.hasPrefix("iso_8859-") { s = "iso-8859-" + s.dropFirst(9) }
        // Anything else goes to iconv as is, when it looks like a name (never a path or an option suffix).
        guard s.utf8.allSatisfy({ b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x3A
        }) else { return nil }
        return s.uppercased()
    }

    /// Decodes `bytes` from the iconv charset `name`. Returns nil when iconv does not know the name.
    /// `clean` is false when some bytes were invalid (each was replaced by U+FFFD) or input ended mid-character.
    static func iconvDecode(_ bytes: ArraySlice<UInt8>, from name: String) -> (text: String, clean: Bool)? {
        if name == "UTF-8" {
            let text = String(decoding: bytes, as: UTF8.self)
            return (text, isValidUTF8(bytes))
        }
        if name == "ASCII" {
            let clean = !bytes.contains(where: { $0 >= 0x80 })
            return (String(decoding: bytes, as: UTF8.self), clean)
        }
        let cd = iconv_open("UTF-8", name)
        guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(cd) }
        if bytes.isEmpty { return ("", true) }

        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2 + 16)
        var clean = true
        var chunk = [CChar](repeating: 0, count: 8192)
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

        bytes.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress else { return }
            var inPtr = UnsafeMutablePointer(mutating: UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self))
            var inLeft = input.count
            while true {
                let (result, err, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int, Int32, Int) in
                    var outPtr: UnsafeMutablePointer<CChar>? = out.baseAddress
                    var outLeft = out.count
                    var inOpt: UnsafeMutablePointer<CChar>? = inPtr
                    let r = inLeft > 0
                        ? iconv(cd, &inOpt, &inLeft, &outPtr, &outLeft)
                        : iconv(cd, nil, nil, &outPtr, &outLeft)   // flush shift state
                    let e = errno
                    if let p = inOpt { inPtr = p }
                    return (r, e, out.count - outLeft)
                }
                output.append(contentsOf: chunk[0..<produced].lazy.map { UInt8(bitPattern: $0) })
                if result != -1 {
                    // All input consumed: the next pass is the flush call (nil input) for stateful
                    // charsets; once it produces nothing more we are done.
                    if inLeft == 0, produced == 0 { break }
                    continue
                }
                switch err {
                case E2BIG:
                    continue
                case EILSEQ:
                    // Invalid byte: U+FFFD for it, then go on with the next one.
                    clean = false
                    output.append(contentsOf: replacement)
                    guard inLeft > 0 else { return }   // (only in the flush call; never loop)
                    inPtr += 1
                    inLeft -= 1
                    if inLeft == 0 { return }
                case EINVAL:
                    // Incomplete multibyte sequence at the end of input.
                    clean = false
                    output.append(contentsOf: replacement)
                    return
                default:
                    clean = false
                    return
                }
            }
        }
        return (String(decoding: output, as: UTF8.self), clean)
    }

    static func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Decodes text in the declared charset, falling back to a guess (see `CharsetGuess`) when the label
    /// is missing, unknown or wrong for these bytes. Always produces a String.
    static func decode(_ bytes: ArraySlice<UInt8>, declared: String?, defects: inout [MailDefect]) -> String {
        if let declared, !declared.trimmingASCIIWhitespace().isEmpty {
            if let name = canonicalName(declared), let (text, clean) = iconvDecode(bytes, from: name) {
                // Multi-byte UTF-8 under a single-byte label: real single-byte text practically never
                // forms valid UTF-8 sequences, so this is UTF-8 mislabelled (e.g. "cp1251" on UTF-8).
                if clean, !name.hasPrefix("UTF"), name != "ASCII", bytes.contains(where: { $0 >= 0x80 }), isValidUTF8(bytes) {
                    defects.record(.invalidBytesForCharset(declared.lowercased()))
                    return String(decoding: bytes, as: UTF8.self)
                }
                if clean, let swapped = CharsetGuess.swappedCyrillicLabel(bytes, declared: name),
                   let (other, _) = iconvDecode(bytes, from: swapped) {
                    defects.record(.invalidBytesForCharset(declared.lowercased()))
                    return other
                }
                if clean { return text }
                // ASCII declared but 8-bit present is so common it is only "undeclared".
                let guess = CharsetGuess.guess(bytes)
                if name == "ASCII" {
                    defects.record(.undeclaredCharset(guess))
                } else {
                    defects.record(.invalidBytesForCharset(declared.lowercased()))
                    // Keep the declared reading when the guess is not better (e.g. one stray byte in cp1251).
                    if guess == name || (guess != "UTF-8" && name != "UTF-8") { return text }
                }
                return iconvDecode(bytes, from: guess)?.text ?? String(decoding: bytes, as: UTF8.self)
            }
            defects.record(.unknownCharset(declared.lowercased()))
        } else if bytes.contains(where: { $0 >= 0x80 }) {
            defects.record(.undeclaredCharset(CharsetGuess.guess(bytes)))
        }
        let guess = CharsetGuess.guess(bytes)
        return iconvDecode(bytes, from: guess)?.text ?? String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        let u = Array(utf8)
        var a = 0, b = u.count
        while a < b, u[a] == 0x20 || u[a] == 0x09 || u[a] == 0x0D || u[a] == 0x0A { a += 1 }
        while b > a, u[b - 1] == 0x20 || u[b - 1] == 0x09 || u[b - 1] == 0x0D || u[b - 1] == 0x0A { b -= 1 }
        return String(decoding: u[a..<b], as: UTF8.self)
    }
}
