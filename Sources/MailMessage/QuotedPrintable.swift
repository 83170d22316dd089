/// Quoted-printable (RFC 2045 §6.7) decoding and encoding.
enum QuotedPrintable {
    /// Decodes tolerantly: soft line breaks (`=` before CRLF or LF, also with trailing blanks),
    /// upper- or lower-case hex; an `=` not followed by two hex digits is kept literally (and reported).
    /// Unencoded trailing blanks of each line are transport padding and are removed.
    static func decode(_ input: ArraySlice<UInt8>, defects: inout [MailDefect]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = input.startIndex
        let end = input.endIndex
        var bad = false
        // Length of `out` after the last byte that must not be stripped as trailing padding.
        var keep = 0
        while i < end {
            let b = input[i]
            if b == 0x3D { // '='
                // Soft line break: '=' [blanks] (CRLF | LF | end)
                var j = i + 1
                while j < end, input[j] == 0x20 || input[j] == 0x09 { j += 1 }
                if j == end { i = end; keep = out.count; break }
                if input[j] == 0x0A { i = j + 1; keep = out.count; continue }
                if input[j] == 0x0D, j + 1 < end, input[j + 1] == 0x0A { i = j + 2; keep = out.count; continue }
                if end - i >= 3, let h = hex(input[i + 1]), let l = hex(input[i + 2]) {
                    out.append(h << 4 | l)
                    keep = out.count
                    i += 3
                    continue
                }
                bad = true
                out.append(b)
                keep = out.count
                i += 1
                continue
            }
            if b == 0x0D, i + 1 < end, input[i + 1] == 0x0A {
                out.removeSubrange(keep...)
                out.append(0x0D); out.append(0x0A)
                keep = out.count
                i += 2
                continue
            }
            if b == 0x0A {
                out.removeSubrange(keep...)
                out.append(0x0A)
                keep = out.count
                i += 1
                continue
            }
            out.append(b)
            if b != 0x20 && b != 0x09 { keep = out.count }
            i += 1
        }
        if bad { defects.record(.badQuotedPrintable) }
        return out
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Encodes UTF-8 text as quoted-printable with CRLF line ends and lines of at most 76 characters.
    static func encode(_ text: String) -> [UInt8] {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        let lines = text.replacingLineEnds().split(separator: "\n", omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            var col = 0
            for (k, b) in bytes.enumerated() {
                let isLast = k == bytes.count - 1
                var piece: [UInt8]
                if (b >= 0x21 && b <= 0x7E && b != 0x3D) || ((b == 0x20 || b == 0x09) && !isLast) {
                    piece = [b]
                } else {
                    piece = [0x3D, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
                }
                // Keep room for a soft break '=' (75 + '=' = 76).
                if col + piece.count > 75 {
                    out.append(contentsOf: [0x3D, 0x0D, 0x0A])
                    col = 0
                }
                out.append(contentsOf: piece)
                col += piece.count
            }
            if n < lines.count - 1 { out.append(contentsOf: [0x0D, 0x0A]) }
        }
        return out
    }
}

extension String {
    /// CRLF and lone CR become LF.
    func replacingLineEnds() -> String {
        let bytes = Array(utf8)
        if !bytes.contains(0x0D) { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var prevCR = false
        for b in bytes {
            if b == 0x0D { out.append(0x0A); prevCR = true; continue }
            if b == 0x0A, prevCR { prevCR = false; continue }
            prevCR = false
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
