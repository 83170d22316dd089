/// HTML to plain text, for HTML-only mail. Drops `<script>`, `<style>`, `<head>`, `<title>` content,
/// comments, and quoted earlier mail (`<blockquote>` — Yandex, Mail.ru, Apple Mail —, Gmail
/// `gmail_quote`, Thunderbird `moz-cite-prefix`, Yahoo `yahoo_quoted`, Zoho `zmail_extra`), and
/// everything after Outlook's reply markers (`divRplyFwdMsg`, `appendonsend`, the bordered
/// splitter div, `<hr id="stopSpelling">`) and Zimbra's divider; block elements give line
/// breaks; entities are decoded; whitespace is collapsed. Header blocks that are not in such a
/// container ("Date: … Subject: … From: …") are left to `ReplyStripper`, which finds them by shape.
public enum HTMLText {
    private static let skipContent: Set<String> = ["script", "style", "head", "title", "template", "noscript"]
    private static let lineBreakTags: Set<String> = [
        "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "pre", "section", "article", "header", "footer", "dl", "dt", "dd", "hr", "address", "center", "form", "body",
    ]
    private static let quoteClasses = [
        "gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote", "js-quote", "zmail_extra",
        "mail-quote-collapse", "yandex_quote", "aol_quote", "tutanota_quote",
    ]
    /// Markers after which everything is the earlier mail: Outlook's reply header container and
    /// the element before it (`divRplyFwdMsg`, `appendonsend`, Outlook for Mac's
    /// `OLK_SRC_BODY_SECTION`, the new Outlook's reference container), Outlook.com's
    /// `<hr id="stopSpelling">`, Zimbra's divider and quoted-text markers.
    private static let cutMarkers = [
        "divrplyfwdmsg", "appendonsend", "olk_src_body_section", "mail-editor-reference-message-container",
        "stopspelling", "__divider__", "__quoted_text__", "reply-intro",
    ]
    /// Outlook desktop's splitter: `<div style="border:none;border-top:solid #E1E1E1 1.0pt;…">`.
    private static let outlookSplitters = ["border-top:solid #e1e1e1", "border-top:solid #b5c4df", "border-top: solid #e1e1e1", "border-top: solid #b5c4df"]
    // The same as UTF-8, for a byte search (a literal substring search, as `contains` was).
    private static let quoteClassBytes = quoteClasses.map { Array($0.utf8) }
    private static let cutMarkerBytes = cutMarkers.map { Array($0.utf8) }
    private static let outlookSplitterBytes = outlookSplitters.map { Array($0.utf8) }

    public static func toText(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        // The text as UTF-8 (a line feed byte is always a line feed scalar).
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 2)
        var i = 0
        var pendingSpace = false

        func newline() {
            pendingSpace = false
            if let last = out.last, last != 0x0A { out.append(0x0A) }
        }
        func emit(_ c: Unicode.Scalar) {
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{A0}" || c == "\u{0C}" {
                if let last = out.last, last != 0x0A { pendingSpace = true }
                return
            }
            if pendingSpace { out.append(0x20); pendingSpace = false }
            if c.isASCII { out.append(UInt8(c.value)) } else { out.append(contentsOf: c.utf8) }
        }

        scan: while i < s.count {
            let c = s[i]
            if c == "<" {
                // Comment
                if i + 3 < s.count, s[i + 1] == "!", s[i + 2] == "-", s[i + 3] == "-" {
                    i = find(s, "-->", from: i + 4).map { $0 + 3 } ?? s.count
                    continue
                }
                guard let tag = parseTag(s, at: i) else { emit(c); i += 1; continue }
                i = tag.end
                let name = tag.name
                if !tag.closing {
                    if skipContent.contains(name) {
                        // An unclosed <head> or <title> ends where the body starts (mailers do omit them).
                        let stops: Set<String> = name == "head" || name == "title" ? ["body"] : []
                        i = skipElement(s, name: name, from: i, nested: false, stopBefore: stops)
                        continue
                    }
                    if name == "blockquote" {
                        i = skipElement(s, name: name, from: i, nested: true)
                        newline()
                        continue
                    }
                    let marked = (name == "div" || name == "hr" || name == "span" || name == "p") && !tag.attributes.isEmpty
                    let attrs = marked ? Array(tag.attributes.lowercased().utf8) : []
                    if marked {
                        if cutMarkerBytes.contains(where: { contains(attrs, $0) })
                            || (name == "div" && outlookSplitterBytes.contains(where: { contains(attrs, $0) })) {
                            break scan
                        }
                    }
                    if marked, name != "hr" {
                        if quoteClassBytes.contains(where: { contains(attrs, $0) }) {
                            i = skipElement(s, name: name, from: i, nested: true)
                            newline()
                            continue
                        }
                    }
                }
                if name == "br" { pendingSpace = false; out.append(0x0A); continue }
                if lineBreakTags.contains(name) { newline(); continue }
                if name == "td" || name == "th" { if let last = out.last, last != 0x0A { pendingSpace = true }; continue }
                continue
            }
            if c == "&" {
                let (decoded, next) = decodeEntity(s, at: i)
                for d in decoded.unicodeScalars { emit(d) }
                i = next
                continue
            }
            emit(c)
            i += 1
        }
        // Trim each line (ASCII blanks), drop runs of blank lines.
        var result: [UInt8] = []
        result.reserveCapacity(out.count)
        var lastBlank = true  // no line yet counts as a blank one before
        var pendingBlank = false
        var start = 0
        while start <= out.count {
            let end = out[start...].firstIndex(of: 0x0A) ?? out.count
            var a = start, b = end
            while a < b, out[a] == 0x20 || out[a] == 0x09 || out[a] == 0x0D { a += 1 }
            while b > a, out[b - 1] == 0x20 || out[b - 1] == 0x09 || out[b - 1] == 0x0D { b -= 1 }
            if a == b {
                if !lastBlank { pendingBlank = true; lastBlank = true }
            } else {
                if !result.isEmpty { result.append(0x0A) }
                if pendingBlank { result.append(0x0A); pendingBlank = false }
                result.append(contentsOf: out[a..<b])
                lastBlank = false
            }
            start = end + 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Whether `needle` occurs in `haystack` (bytes, literally).
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return needle.isEmpty }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < needle.count, haystack[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    private struct Tag { var name: String; var closing: Bool; var attributes: String; var end: Int }

    /// `<name attrs>` or `</name>` at `i`; nil when `<` does not start a tag (then it is text).
    private static func parseTag(_ s: [Unicode.Scalar], at i: Int) -> Tag? {
        var j = i + 1
        var closing = false
        if j < s.count, s[j] == "/" { closing = true; j += 1 }
        let nameStart = j
        while j < s.count, s[j].properties.isAlphabetic || (s[j] >= "0" && s[j] <= "9") || s[j] == ":" || s[j] == "-" { j += 1 }
        if j == nameStart {
            // <!DOCTYPE …>, <?xml …?>
            if j < s.count, s[j] == "!" || s[j] == "?" {
                var k = j
                while k < s.count, s[k] != ">", s[k] != "<" { k += 1 }
                return Tag(name: "!", closing: false, attributes: "", end: k < s.count && s[k] == ">" ? k + 1 : k)
            }
            return nil
        }
        let name = String(String.UnicodeScalarView(s[nameStart..<j])).lowercased()
        let attrStart = j
        // The tag ends at '>' (consumed) or before the next '<' or at the end of input; quotes are not
        // honoured so that every scalar is looked at a bounded number of times (linear time).
        while j < s.count, s[j] != ">", s[j] != "<" { j += 1 }
        let attrs = String(String.UnicodeScalarView(s[attrStart..<j]))
        let end = j < s.count && s[j] == ">" ? j + 1 : j
        return Tag(name: name, closing: closing, attributes: attrs, end: end)
    }

    /// Index after the element's matching close tag (counting nested same-name tags when `nested`).
    private static func skipElement(_ s: [Unicode.Scalar], name: String, from start: Int, nested: Bool, stopBefore: Set<String> = []) -> Int {
        var depth = 1
        var i = start
        while i < s.count {
            guard let lt = find(s, "<", from: i) else { return s.count }
            if lt + 3 < s.count, s[lt + 1] == "!", s[lt + 2] == "-", s[lt + 3] == "-" {
                i = find(s, "-->", from: lt + 4).map { $0 + 3 } ?? s.count
                continue
            }
            guard let tag = parseTag(s, at: lt) else { i = lt + 1; continue }
            if !tag.closing, stopBefore.contains(tag.name) { return lt }
            i = tag.end
            if tag.name == name {
                if tag.closing { depth -= 1; if depth == 0 { return i } } else if nested, !tag.attributes.hasSuffix("/") { depth += 1 }
            }
        }
        return s.count
    }

    private static func find(_ s: [Unicode.Scalar], _ needle: String, from: Int) -> Int? {
        let n = Array(needle.unicodeScalars)
        guard !n.isEmpty, from >= 0 else { return nil }
        var i = from
        while i + n.count <= s.count {
            if s[i] == n[0] {
                var ok = true
                for k in 1..<n.count where s[i + k] != n[k] { ok = false; break }
                if ok { return i }
            }
            i += 1
        }
        return nil
    }

    static let named: [String: String] = [
        "nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'",
        "laquo": "«", "raquo": "»", "mdash": "—", "ndash": "–", "hellip": "…", "copy": "©", "reg": "®",
        "trade": "™", "euro": "€", "shy": "", "bull": "•", "middot": "·", "times": "×", "deg": "°",
        "numero": "№", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "sbquo": "‚", "bdquo": "„",
        "minus": "−", "thinsp": " ", "ensp": " ", "emsp": " ", "zwnj": "", "zwj": "", "lrm": "", "rlm": "",
        "sect": "§", "para": "¶", "plusmn": "±", "frac12": "½", "rub": "₽", "cent": "¢", "pound": "£", "yen": "¥",
    ]

    /// Decodes the entity at `i` (which is `&`); returns "&" and i+1 when it is not one.
    static func decodeEntity(_ s: [Unicode.Scalar], at i: Int) -> (String, Int) {
        var j = i + 1
        if j < s.count, s[j] == "#" {
            j += 1
            var hex = false
            if j < s.count, s[j] == "x" || s[j] == "X" { hex = true; j += 1 }
            var value: UInt32 = 0
            var digits = 0
            while j < s.count, digits < 8 {
                let c = s[j]
                var d: UInt32? = nil
                if c >= "0" && c <= "9" { d = c.value - 48 } else if hex, c >= "a" && c <= "f" { d = c.value - 87 } else if hex, c >= "A" && c <= "F" { d = c.value - 55 }
                guard let d else { break }
                value = value &* (hex ? 16 : 10) &+ d
                digits += 1
                j += 1
            }
            guard digits > 0 else { return ("&", i + 1) }
            if j < s.count, s[j] == ";" { j += 1 }
            if value == 0xA0 { return (" ", j) }
            if value == 0 || value > 0x10FFFF { return ("\u{FFFD}", j) }
            // Windows-1252 C1 range as browsers do, for the few common ones.
            if value == 0x96 { return ("–", j) }
            if value == 0x97 { return ("—", j) }
            guard let scalar = Unicode.Scalar(value) else { return ("\u{FFFD}", j) }
            return (String(scalar), j)
        }
        let nameStart = j
        while j < s.count, j - nameStart < 10, (s[j] >= "a" && s[j] <= "z") || (s[j] >= "A" && s[j] <= "Z") || (s[j] >= "0" && s[j] <= "9") { j += 1 }
        let name = String(String.UnicodeScalarView(s[nameStart..<j]))
        if let v = named[name] ?? named[name.lowercased()] {
            if j < s.count, s[j] == ";" { return (v, j + 1) }
            // Without ';' only the most common ones (browsers accept these too).
            if ["nbsp", "amp", "lt", "gt", "quot"].contains(name.lowercased()) { return (v, j) }
        }
        return ("&", i + 1)
    }
}
