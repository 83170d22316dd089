/// A mailbox: the address (domain lower-cased, local part as written) and the decoded display name.
public struct MailAddress: Sendable, Hashable {
    public var address: String
    public var displayName: String?

    public init(address: String, displayName: String? = nil) {
        self.address = address
        self.displayName = displayName
    }

    /// The local part (before the last `@`), or the whole address when there is none.
    public var localPart: String {
        guard let at = address.lastIndex(of: "@") else { return address }
        return String(address[..<at])
    }

    /// The first mailbox of an address-list header value (RFC 2047 still encoded), nil when empty.
    /// Handles `Name <a@b>`, `"Quoted, =?utf-8?B?…?=" <a@b>`, `a@b (Name)`, bare `a@b`, groups.
    public static func parse(_ value: String) -> MailAddress? {
        for item in splitList(value) {
            if let a = parseOne(item) { return a }
        }
        return nil
    }

    /// Splits at commas that are outside quotes, comments and angle brackets.
    static func splitList(_ value: String) -> [String] {
        var items: [String] = []
        var current: [Character] = []
        var inQuote = false, inAngle = false, comment = 0, escaped = false
        for c in value {
            if escaped { current.append(c); escaped = false; continue }
            switch c {
            case "\\" where inQuote || comment > 0: escaped = true
            case "\"" where comment == 0: inQuote.toggle()
            case "(" where !inQuote: comment += 1
            case ")" where !inQuote && comment > 0: comment -= 1
            case "<" where !inQuote && comment == 0: inAngle = true
            case ">" where !inQuote && comment == 0: inAngle = false
            case "," where !inQuote && !inAngle && comment == 0:
                items.append(String(current)); current.removeAll(); continue
            case ":" where !inQuote && !inAngle && comment == 0:
                // Group name "undisclosed: a@b, c@d;" — drop the group label.
                current.removeAll(); continue
            case ";" where !inQuote && !inAngle && comment == 0:
                continue
            default: break
            }
            current.append(c)
        }
        items.append(String(current))
        return items
    }

    static func parseOne(_ raw: String) -> MailAddress? {
        let item = raw.trimmingASCIIWhitespace()
        if item.isEmpty { return nil }
        var name: String? = nil
        var addr: String
        // Find the last '<' outside quotes.
        var inQuote = false, escaped = false
        var lt: String.Index? = nil
        for idx in item.indices {
            let c = item[idx]
            if escaped { escaped = false; continue }
            if c == "\\" && inQuote { escaped = true; continue }
            if c == "\"" { inQuote.toggle(); continue }
            if c == "<" && !inQuote { lt = idx }
        }
        if let lt {
            let after = item[item.index(after: lt)...]
            addr = String(after.prefix { $0 != ">" })
            name = String(item[..<lt])
        } else {
            // a@b (Comment Name)
            var plain: [Character] = []
            var commentText: [Character] = []
            var depth = 0
            for c in item {
                if c == "(" { depth += 1; if depth == 1 { continue } }
                if c == ")" && depth > 0 { depth -= 1; if depth == 0 { continue } }
                if depth > 0 { commentText.append(c) } else { plain.append(c) }
            }
            addr = String(plain)
            if !commentText.isEmpty { name = String(commentText) }
        }
        addr = addr.trimmingASCIIWhitespace()
        // Source route "@a,@b:user@host".
        if addr.hasPrefix("@"), let colon = addr.firstIndex(of: ":") { addr = String(addr[addr.index(after: colon)...]) }
        addr = String(addr.filter { $0 != " " && $0 != "\t" })
        if let at = addr.lastIndex(of: "@") {
            addr = String(addr[..<at]) + "@" + addr[addr.index(after: at)...].lowercased()
        }
        if let n = name {
            var s = n.trimmingASCIIWhitespace()
            if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 {
                s = String(s.dropFirst().dropLast())
                var unescaped = ""
                var esc = false
                for c in s {
                    if esc { unescaped.append(c); esc = false; continue }
                    if c == "\\" { esc = true; continue }
                    unescaped.append(c)
                }
                s = unescaped
            } else {
                s = String(s.filter { $0 != "\"" })
            }
            s = EncodedWord.decode(s).trimmingASCIIWhitespace()
            name = s.isEmpty ? nil : s
        }
        if addr.isEmpty && name == nil { return nil }
        return MailAddress(address: addr, displayName: name)
    }
}
