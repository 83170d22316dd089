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

    static func meaningfulText(_ text: String) -> String {
        var lines = text.replacingLineEnds().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var cut = lines.count
        var n = 0
        while n < lines.count {
            let raw = lines[n]
            let t = raw.trimmingASCIIWhitespace()
            let lower = t.lowercased()
            // Signature delimiter "-- " (also "--" alone).
            if raw == "-- " || t == "--" || raw == "--\u{A0}" { cut = n; break }
            // "-----Original Message-----", "-------- Пересылаемое сообщение --------", Outlook "____".
            let bare = lower.filter { $0 != "-" && $0 != "_" && $0 != "=" }.trimmingASCIIWhitespace()
            if separators.contains(bare), t.hasPrefix("-") || t.hasPrefix("_") || bare.hasSuffix(":") { cut = n; break }
            if t.count >= 20, t.allSatisfy({ $0 == "_" }) { cut = n; break }
            // Mobile footers.
            if t.count < 100, footers.contains(where: { lower.hasPrefix($0) }) { cut = n; break }
            if t.count < 40, signOffs.contains(where: { lower.hasPrefix($0) }), !t.contains(where: \.isNumber) { cut = n; break }
            // Quote header "… пишет:" / "On … wrote:" (possibly wrapped over two lines).
            // Gmail (ru) omits the verb: "Пт, 20 нояб. 2026 г. в 10:15, Показания <readings@example.test>:".
            let gmailRu = lower.hasSuffix(">:") && lower.contains("@") && lower.contains(where: \.isNumber)
            if gmailRu || quoteHeaderEndings.contains(where: { lower.hasSuffix($0) }) {
                cut = n
                if n > 0 {
                    let prev = lines[n - 1].trimmingASCIIWhitespace().lowercased()
                    if !prev.isEmpty, !lower.hasPrefix("on "), prev.hasPrefix("on ") || startsWithDate(prev) || prev.hasSuffix(",") {
                        cut = n - 1
                    }
                }
                break
            }
            // Outlook "From: … Sent: …" block.
            if outlookFrom.contains(where: { lower.hasPrefix($0) }) {
                var k = n + 1
                var found = false
                while k < lines.count, k <= n + 4 {
                    let l = lines[k].trimmingASCIIWhitespace().lowercased()
                    if outlookSent.contains(where: { l.hasPrefix($0) }) { found = true; break }
                    k += 1
                }
                if found { cut = n; break }
            }
            n += 1
        }
        lines.removeSubrange(cut...)
        // Quoted lines at any depth, with optional leading blanks.
        lines = lines.filter { !$0.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(">") }
        let trimmed = lines.map { trimTrailing($0) }
        var start = 0, end = trimmed.count
        while start < end, trimmed[start].trimmingASCIIWhitespace().isEmpty { start += 1 }
        while end > start, trimmed[end - 1].trimmingASCIIWhitespace().isEmpty { end -= 1 }
        return trimmed[start..<end].joined(separator: "\n").trimmingASCIIWhitespace()
    }

    private static func trimTrailing(_ s: String) -> String {
        var u = Array(s.utf8)
        while let l = u.last, l == 0x20 || l == 0x09 { u.removeLast() }
        return String(decoding: u, as: UTF8.self)
    }

    /// "20.10.2026 …", "2026-10-20 …", "пн, 20 окт. 2026 г. …".
    private static func startsWithDate(_ s: String) -> Bool {
        let u = Array(s.utf8.prefix(12))
        var digits = 0
        for b in u {
            if b >= 0x30 && b <= 0x39 { digits += 1 } else if b == 0x2E || b == 0x2D || b == 0x2F { continue } else { break }
        }
        return digits >= 4
    }
}
