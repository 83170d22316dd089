/// Removes from a body what the sender did not write for us: quoted lines, the quote header before
/// them, forwarded/original-message blocks, header blocks of earlier mail, signatures and mobile footers.
///
/// Quotes are found by their shape, in any language; the word lists below only help:
/// - an *attribution*: one line, or up to three wrapped lines, ending with `:` that carries a date
///   or a time and a name or an address, followed by quoted (`>`) lines, an unmarked earlier
///   message or the end of the text ("Le 20 nov. 2026 à 10:15, Jean <j@x> a écrit :",
///   "W dniu 20.11.2026 o 10:15, Jan <j@x> pisze:", "пт, 20 нояб. 2026 г. в 10:15, Иван <i@x>:");
/// - a *header block*: three or more consecutive `Label: value` lines (labels in any language,
///   bold `*From:*` too, a wrapped value allowed) of which one holds a date and one an address,
///   or, without an address, none a number of five or more digits (display names only)
///   ("From:/Sent:/To:", "Von:/An:/Datum:", "Date:/Subject:/From:");
/// - a *separator*: a line that starts and ends with runs of dashes, underscores or `=` around
///   words ("-----Original Message-----", "---- On … wrote ----" of Zoho);
/// - a line of 20 or more underscores (Outlook), a signature delimiter `-- `.
/// Everything from the first of these on is the earlier mail, except that an attribution
/// followed by `>` lines and then more of the sender's text (bottom-posting) drops only itself.
enum ReplyStripper {
    // The word lists (footers, sign-offs, separators, quote verbs) are `MailWords`: the
    // grammar's `Grammars/mail.grammar`, or `MailWords.builtIn`.

    /// One line, compared as UTF-8 bytes (String prefix tests on Cyrillic are slow).
    private struct Line {
        var raw: ArraySlice<UInt8>
        var trimmed: ArraySlice<UInt8>
        var lower: [UInt8]
        /// Starts with '>' (after blanks): a quoted line.
        var quoted: Bool
        init(_ raw: ArraySlice<UInt8>) {
            self.raw = raw
            self.trimmed = HeaderBlock.trimWSP(raw)
            self.lower = ReplyStripper.lowercasedASCIIAndCyrillic(trimmed)
            self.quoted = trimmed.first == 0x3E
        }
        var isBlank: Bool { trimmed.isEmpty }
    }

    /// Lower-cases ASCII and Russian Cyrillic in UTF-8 bytes (all the markers need), fast and
    /// allocation-light; other bytes are copied.
    static func lowercasedASCIIAndCyrillic(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out = [UInt8](s)
        var i = 0
        while i < out.count {
            let b = out[i]
            if b >= 0x41 && b <= 0x5A {
                out[i] = b | 0x20
            } else if b == 0xD0, i + 1 < out.count {
                let c = out[i + 1]
                if c >= 0x90 && c <= 0x9F { out[i + 1] = c + 0x20 }                  // А–П → а–п
                else if c >= 0xA0 && c <= 0xAF { out[i] = 0xD1; out[i + 1] = c - 0x20 } // Р–Я → р–я
                else if c == 0x81 { out[i] = 0xD1; out[i + 1] = 0x91 }                // Ё → ё
                i += 1
            }
            i += 1
        }
        return out
    }

    static func meaningfulText(_ text: String, words: MailWords = .builtIn) -> String { split(text, words: words).meaningful }

    /// The sender's text, and the lines that may be quoted or may be the sender's: a line right
    /// after a long '>' line (mail clients wrap long quoted lines and may drop the '>' of the
    /// continuation). Those lines are kept out of the text; the caller decides what they mean.
    static func split(_ text: String, words: MailWords = .builtIn) -> (meaningful: String, uncertain: String) {
        let bytes = Array(text.replacingLineEnds().utf8)
        var lines: [Line] = []
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            lines.append(Line(bytes[start..<i]))
            start = i + 1
        }
        var cut = lines.count
        var dropped = Set<Int>()
        var n = 0
        scan: while n < lines.count {
            let line = lines[n]
            if line.quoted || line.isBlank { n += 1; continue }
            let t = line.trimmed
            let lower = line.lower
            // Signature delimiter "-- " (also "--" alone).
            if t.elementsEqual("--".utf8) || line.raw.elementsEqual("--\u{A0}".utf8) { cut = n; break }
            // "-----Original Message-----", "---- On … wrote ----", "-------- Пересылаемое сообщение --------".
            if isSeparator(t) { cut = n; break }
            if let f = t.first, f == 0x2D || f == 0x5F || lower.last == 0x3A {
                let bare = HeaderBlock.trimWSP(lower.filter { $0 != 0x2D && $0 != 0x5F && $0 != 0x3D }[...])
                if words.separators.contains(String(decoding: bare, as: UTF8.self)) { cut = n; break }
            }
            // Outlook's "________________________________" separator.
            if t.count >= 20, t.allSatisfy({ $0 == 0x5F }) { cut = n; break }
            // Mobile footers.
            if t.count < 200, words.footerBytes.contains(where: { lower.starts(with: $0) }) { cut = n; break }
            if t.count < 80, words.signOffBytes.contains(where: { lower.starts(with: $0) }), !t.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                cut = n; break
            }
            // A header block of an earlier message (From:/Sent:/To:, Von:/Datum:, Date:/Subject:/From: …).
            if isHeaderBlock(lines, at: n) { cut = n; break }
            // An attribution ending on this line.
            if let header = attributionStart(lines, endingAt: n, words: words) {
                // Bottom-posting: the header introduces '>' lines and the new text follows
                // them; drop the header only. An unmarked earlier message: cut here.
                var next = n + 1
                while next < lines.count, lines[next].isBlank { next += 1 }
                if next < lines.count, lines[next].quoted {
                    var after = next
                    while after < lines.count, lines[after].quoted || lines[after].isBlank { after += 1 }
                    if after < lines.count {
                        for index in header...n { dropped.insert(index) }
                        n = after
                        continue scan
                    }
                }
                cut = header
                break
            }
            n += 1
        }
        // Quoted lines at any depth, with optional leading blanks; trailing blanks trimmed.
        var kept: [ArraySlice<UInt8>] = []
        var uncertain: [UInt8] = []
        for (index, line) in lines[..<cut].enumerated() where !dropped.contains(index) {
            if line.quoted { continue }
            if index > 0, lines[index - 1].quoted, lines[index - 1].trimmed.count >= 60, !line.isBlank {
                if !uncertain.isEmpty { uncertain.append(0x0A) }
                uncertain.append(contentsOf: line.trimmed)
                continue
            }
            var r = line.raw
            while let l = r.last, l == 0x20 || l == 0x09 || l == 0x0D { r = r.dropLast() }
            kept.append(r)
        }
        var a = 0, b = kept.count
        while a < b, HeaderBlock.trimWSP(kept[a]).isEmpty { a += 1 }
        while b > a, HeaderBlock.trimWSP(kept[b - 1]).isEmpty { b -= 1 }
        var out: [UInt8] = []
        for (k, l) in kept[a..<b].enumerated() {
            if k > 0 { out.append(0x0A) }
            out.append(contentsOf: l)
        }
        return (String(decoding: HeaderBlock.trimWSP(out[...]), as: UTF8.self), String(decoding: uncertain, as: UTF8.self))
    }

    // MARK: - Separators

    /// Dash-like bytes of a separator run: '-', '_', '=', '*', and the UTF-8 of '–' and '—'.
    private static func dashRun(_ t: ArraySlice<UInt8>, fromEnd: Bool) -> Int {
        var count = 0
        var i = fromEnd ? t.endIndex - 1 : t.startIndex
        while i >= t.startIndex, i < t.endIndex {
            let b = t[i]
            if b == 0x2D || b == 0x5F || b == 0x3D || b == 0x2A {
                count += 1
                i += fromEnd ? -1 : 1
            } else if b == 0x20 || b == 0x09 {
                i += fromEnd ? -1 : 1  // "- - -", "---- On … ----"
            } else if fromEnd, i - 2 >= t.startIndex, t[i - 2] == 0xE2, t[i - 1] == 0x80, b == 0x93 || b == 0x94 {
                count += 1
                i -= 3
            } else if !fromEnd, i + 2 < t.endIndex, b == 0xE2, t[i + 1] == 0x80, t[i + 2] == 0x93 || t[i + 2] == 0x94 {
                count += 1
                i += 3
            } else {
                break
            }
        }
        return count
    }

    /// Words between runs of at least two dashes (underscores, `=`) on both sides.
    static func isSeparator(_ t: ArraySlice<UInt8>) -> Bool {
        guard t.count >= 8, t.count <= 300 else { return false }
        guard dashRun(t, fromEnd: false) >= 2, dashRun(t, fromEnd: true) >= 2 else { return false }
        return t.contains { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 >= 0xC0 }
    }

    // MARK: - Dates and names

    /// What a line says about dates: a time (`10:15`, `17.50`), a year (19xx/20xx standing
    /// alone) or a numeric date (`20.11.26`).
    static func hasDateOrTime(_ s: [UInt8], timesCount: Bool = true) -> Bool {
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < s.count && s[i] >= 0x30 && s[i] <= 0x39 }
        var i = 0
        while i < s.count {
            guard isDigit(i) else { i += 1; continue }
            var j = i
            while isDigit(j) { j += 1 }
            let length = j - i
            let before: UInt8 = i > 0 ? s[i - 1] : 0x20
            let separatedBefore = !(before == 0x2E || before == 0x2C) || !isDigit(i - 2)
            if length == 4, separatedBefore, !(j < s.count && (s[j] == 0x2C || s[j] == 0x2E) && isDigit(j + 1)) {
                let year = Int(String(decoding: s[i..<j], as: UTF8.self)) ?? 0
                if (1970...2099).contains(year) { return true }
            }
            if length <= 2, separatedBefore, j + 5 < s.count, !timesCount, s[j] == 0x2E || s[j] == 0x2F || s[j] == 0x2D,
               isDigit(j + 1), isDigit(j + 2), s[j + 3] == s[j], isDigit(j + 4), isDigit(j + 5) {
                return true  // dd.mm.yy
            }
            if timesCount, length <= 2, separatedBefore, j + 2 < s.count, s[j] == 0x3A || s[j] == 0x2E || s[j] == 0x2F || s[j] == 0x2D,
               isDigit(j + 1), isDigit(j + 2) {
                // hh:mm(:ss), dd.mm(.yy[yy]); not "12.345" (a reading)
                if !isDigit(j + 3) { return true }
            }
            i = j
        }
        return false
    }

    /// Letters (ASCII or any non-ASCII script) beyond the date's words: a name.
    private static func letterCount(_ s: [UInt8]) -> Int {
        s.reduce(0) { $0 + ((($1 | 0x20) >= 0x61 && ($1 | 0x20) <= 0x7A) || $1 >= 0xC0 ? 1 : 0) }
    }

    private static func endsWithColon(_ s: [UInt8]) -> Bool {
        s.last == 0x3A || (s.count >= 3 && s.suffix(3).elementsEqual([0xEF, 0xBC, 0x9A]))  // ':' or '：'
    }

    private static func endsWithQuoteVerb(_ s: [UInt8], _ words: MailWords) -> Bool {
        words.endingBytes.contains(where: { s.count >= $0.count && s.suffix($0.count).elementsEqual($0) })
    }

    // MARK: - Attributions

    /// The first line of an attribution ending at line `n`, when there is one.
    private static func attributionStart(_ lines: [Line], endingAt n: Int, words: MailWords) -> Int? {
        let last = lines[n].lower
        guard endsWithColon(last), last.count <= 400 else { return nil }
        // The window grows upwards over wrapped lines (no blank or quoted line between, none
        // ending with ':' itself) until it holds a date or a time.
        var k = n
        var joined = last
        while true {
            if attributionShape(joined, lines: lines, end: n, words: words) { break }
            guard k > 0, n - k < 2 else { return endsWithQuoteVerb(last, words) && last.count < 200 ? n : nil }
            let above = lines[k - 1]
            guard !above.isBlank, !above.quoted, above.lower.count <= 300, !endsWithColon(above.lower) else {
                return endsWithQuoteVerb(last, words) && last.count < 200 ? n : nil
            }
            k -= 1
            joined = above.lower + [0x20] + joined
        }
        // A date split from the rest ("On Mon, Aug 26, 2019 at\n4:37 PM Name <a@b> wrote:"):
        // the line above belongs to it when it carries a date too or ends mid-phrase.
        if k > 0, n - k < 2 {
            let above = lines[k - 1]
            let first = lines[k].trimmed.first ?? 0
            // Only a time left on the window's first line, the date on the line above.
            if !above.isBlank, !above.quoted, above.lower.count <= 200, !endsWithColon(above.lower),
               (first >= 0x30 && first <= 0x39 && !hasDateOrTime(lines[k].lower, timesCount: false)
                && hasDateOrTime(above.lower, timesCount: false))
                || above.lower.last == 0x2C || above.lower.last == 0x28 || above.lower.last == 0x3C {
                k -= 1
            }
        }
        return k
    }

    /// A date or time, a name or an address, and a reason to think it introduces a quote: an
    /// address, a quote verb, a quoted block after it, or the end of the text after it.
    private static func attributionShape(_ joined: [UInt8], lines: [Line], end n: Int, words: MailWords) -> Bool {
        guard hasDateOrTime(joined), letterCount(joined) >= 2 else { return false }
        if joined.contains(0x40) || endsWithQuoteVerb(joined, words) { return true }
        var next = n + 1
        while next < lines.count, lines[next].isBlank { next += 1 }
        return next == lines.count || lines[next].quoted
    }

    // MARK: - Header blocks

    /// The value of a `Label: value` line (labels of one to four words of letters, optionally
    /// bold: `*From:*`, `**Von:**`), or nil when the line is not one.
    private static func labelValue(_ t: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard t.count >= 3, t.count <= 1000 else { return nil }
        var i = t.startIndex
        while i < t.endIndex, t[i] == 0x2A || t[i] == 0x5F { i += 1 }  // '*', '_' (bold, italic)
        let labelStart = i
        var words = 1
        var letters = 0
        while i < t.endIndex, i - labelStart <= 40 {
            let b = t[i]
            if b == 0x3A { break }
            if (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A || b >= 0x80 {
                letters += 1
            } else if b == 0x20 {
                words += 1
                if words > 4 { return nil }
            } else if b == 0x2D || b == 0x2E || b == 0x27 || b == 0x2A || b == 0x5F {
                // "Reply-To", "Cc." , "*From*:"
            } else {
                return nil
            }
            i += 1
        }
        guard i < t.endIndex, t[i] == 0x3A, letters >= 2 else { return nil }
        var v = i + 1
        while v < t.endIndex, t[v] == 0x2A || t[v] == 0x5F { v += 1 }
        // "http://…" is not a label.
        if v < t.endIndex, t[v] == 0x2F { return nil }
        return t[v...]
    }

    /// A run of five or more ASCII digits.
    private static func hasLongNumber(_ s: ArraySlice<UInt8>) -> Bool {
        var run = 0
        for b in s {
            if b >= 0x30 && b <= 0x39 { run += 1; if run >= 5 { return true } } else { run = 0 }
        }
        return false
    }

    private static func isHeaderBlock(_ lines: [Line], at n: Int) -> Bool {
        guard labelValue(lines[n].trimmed) != nil else { return false }
        var labels = 0
        var address = false
        var date = false
        var k = n
        var blanks = 0
        var continued = false
        // A number of five or more digits (a UIN, a reading) in a value: the abonent's own
        // "Label: value" lines rather than the headers of an earlier mail.
        var longNumber = false
        while k < lines.count, k - n < 16 {
            let line = lines[k]
            if line.isBlank {
                blanks += 1
                if blanks > 1 { break }
                k += 1
                continue
            }
            if line.quoted { break }
            let lower = line.lower
            if let value = labelValue(line.trimmed) {
                labels += 1
                blanks = 0
                continued = false
                if value.contains(0x40) || lower.contains(0x40) { address = true }
                if hasDateOrTime(Array(value)) { date = true }
                if hasLongNumber(value) { longNumber = true }
            } else if !continued, blanks == 0, k > n {
                // A wrapped value ("From: Human Resources\n<hr@example.com>").
                continued = true
                if lower.contains(0x40) { address = true }
                if hasDateOrTime(lower) { date = true }
                if hasLongNumber(line.trimmed) { longNumber = true }
            } else {
                break
            }
            if labels >= 3, address, date { return true }
            k += 1
        }
        // Outlook inside one organisation writes display names only ("From: Petrov, Ivan",
        // "To: Readings Office"): without an address, a whole block whose only digits are its date's.
        return labels >= 3 && date && !longNumber
    }
}
