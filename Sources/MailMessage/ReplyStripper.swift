/// Removes from a body what the sender did not write for us: quoted lines, the quote header before
/// them, forwarded/original-message blocks, Outlook header blocks, signatures and mobile footers.
enum ReplyStripper {
    /// Lines (lower-cased, trimmed) starting with one of these end the sender's text (mobile and webmail
    /// footers). Kept in one place; compared as prefixes on lines shorter than 100 characters.
    static let footers: [String] = [
        "отправлено с iphone", "отправлено с ipad", "отправлено с моего ", "отправлено из мобильной ",
        "отправлено из приложения ", "отправлено из яндекс", "отправлено из почты ", "отправлено с мобильного",
        "отправлено с помощью ", "отправлено через ", "яндекс.почта для мобильных", "яндекс почта для мобильных",
        "sent from my ", "sent from mail for windows", "sent from outlook", "sent from yahoo mail",
        "sent from samsung", "sent from the all new aol", "sent via ", "sent with ", "get outlook for ",
        "mail.ru для ", "почта mail.ru для ", "скачайте почту mail.ru", "отправлено из почты mail.ru",
    ]

    /// Sign-offs that start a signature block (only on short lines without digits).
    static let signOffs: [String] = ["с уважением", "с наилучшими пожеланиями", "best regards", "kind regards", "regards,"]

    /// Separator lines of forwarded or original messages (trimmed, dashes/underscores removed, lower-cased).
    static let separators: Set<String> = [
        "original message", "исходное сообщение", "пересылаемое сообщение", "forwarded message",
        "оригинальное сообщение", "переадресованное сообщение", "начало переадресованного сообщения:",
        "begin forwarded message:", "message d'origine", "ursprüngliche nachricht", "пересланное сообщение",
    ]

    /// Quote header endings ("… пишет:", "On … wrote:").
    static let quoteHeaderEndings = ["пишет:", "написал:", "написала:", "написал(а):", "wrote:", "писал:", "писал(а):", "schrieb:", "a écrit :", "a écrit:"]

    /// Outlook-style header blocks: a line starting with From/От followed within a few lines by Sent/Date.
    static let outlookFrom = ["from:", "от:", "от кого:"]
    static let outlookSent = ["sent:", "date:", "отправлено:", "дата:", "кому:", "to:"]

    private static let footerBytes = footers.map { Array($0.utf8) }
    private static let signOffBytes = signOffs.map { Array($0.utf8) }
    private static let endingBytes = quoteHeaderEndings.map { Array($0.utf8) }
    private static let outlookFromBytes = outlookFrom.map { Array($0.utf8) }
    private static let outlookSentBytes = outlookSent.map { Array($0.utf8) }

    /// One line, compared as UTF-8 bytes (String prefix tests on Cyrillic are slow).
    private struct Line {
        var raw: ArraySlice<UInt8>
        var trimmed: ArraySlice<UInt8>
        var lower: [UInt8]
        init(_ raw: ArraySlice<UInt8>) {
            self.raw = raw
            self.trimmed = HeaderBlock.trimWSP(raw)
            self.lower = ReplyStripper.lowercasedASCIIAndCyrillic(trimmed)
        }
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

    static func meaningfulText(_ text: String) -> String {
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
        while n < lines.count {
            let line = lines[n]
            let t = line.trimmed
            let lower = line.lower
            // Signature delimiter "-- " (also "--" alone).
            if t.elementsEqual("--".utf8) || line.raw.elementsEqual("--\u{A0}".utf8) { cut = n; break }
            // "-----Original Message-----", "-------- Пересылаемое сообщение --------".
            if let f = t.first, f == 0x2D || f == 0x5F || lower.last == 0x3A {
                let bare = HeaderBlock.trimWSP(lower.filter { $0 != 0x2D && $0 != 0x5F && $0 != 0x3D }[...])
                if separators.contains(String(decoding: bare, as: UTF8.self)) { cut = n; break }
            }
            // Outlook's "________________________________" separator.
            if t.count >= 20, t.allSatisfy({ $0 == 0x5F }) { cut = n; break }
            // Mobile footers.
            if t.count < 200, footerBytes.contains(where: { lower.starts(with: $0) }) { cut = n; break }
            if t.count < 80, signOffBytes.contains(where: { lower.starts(with: $0) }), !t.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                cut = n; break
            }
            // Quote header "… пишет:" / "On … wrote:" (possibly wrapped over two lines).
            // Gmail (ru) omits the verb: "Пт, 20 нояб. 2026 г. в 10:15, Показания <readings@example.test>:".
            let hasDigit = lower.contains(where: { $0 >= 0x30 && $0 <= 0x39 })
            let gmailRu = lower.count >= 2 && lower.suffix(2).elementsEqual(">:".utf8) && lower.contains(0x40) && hasDigit
            if gmailRu || endingBytes.contains(where: { lower.count >= $0.count && lower.suffix($0.count).elementsEqual($0) }) {
                var header = n
                if n > 0 {
                    let prev = lines[n - 1].lower
                    if !prev.isEmpty, !lower.starts(with: "on ".utf8),
                       prev.starts(with: "on ".utf8) || startsWithDate(prev) || prev.last == 0x2C {
                        header = n - 1
                    }
                }
                // Bottom-posting: the header introduces '>' lines and the new text follows
                // them; drop the header only. An unmarked earlier message: cut here.
                var next = n + 1
                while next < lines.count, lines[next].trimmed.isEmpty { next += 1 }
                if next < lines.count, lines[next].trimmed.first == 0x3E {
                    for index in header...n { dropped.insert(index) }
                    n += 1
                    continue
                }
                cut = header
                break
            }
            // Outlook "From: … Sent: …" block.
            if outlookFromBytes.contains(where: { lower.starts(with: $0) }) {
                var k = n + 1
                var found = false
                while k < lines.count, k <= n + 4 {
                    let l = lines[k].lower
                    if outlookSentBytes.contains(where: { l.starts(with: $0) }) { found = true; break }
                    k += 1
                }
                if found { cut = n; break }
            }
            n += 1
        }
        // Quoted lines at any depth, with optional leading blanks; trailing blanks trimmed.
        var kept: [ArraySlice<UInt8>] = []
        for (index, line) in lines[..<cut].enumerated() where !dropped.contains(index) {
            if line.trimmed.first == 0x3E { continue }
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
        return String(decoding: HeaderBlock.trimWSP(out[...]), as: UTF8.self)
    }

    /// "20.10.2026 …", "2026-10-20 …", "пн, 20 окт. 2026 г. …".
    private static func startsWithDate(_ s: [UInt8]) -> Bool {
        let u = s.prefix(12)
        var digits = 0
        for b in u {
            if b >= 0x30 && b <= 0x39 { digits += 1 } else if b == 0x2E || b == 0x2D || b == 0x2F { continue } else { break }
        }
        return digits >= 4
    }
}
