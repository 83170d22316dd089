/// One `Authentication-Results` header field (RFC 8601), as far as metergate reads it: who
/// wrote it (the authserv-id) and the result of each method with its properties.
///
/// `mx.example.test; spf=pass smtp.mailfrom=example.ru; dmarc=pass (p=none) header.from=example.ru`
/// → authserv-id `mx.example.test`, results `spf=pass {smtp.mailfrom: example.ru}` and
/// `dmarc=pass {header.from: example.ru}`. Comments are dropped; a value that cannot be read
/// gives no result (never a pass).
public struct AuthenticationResults: Sendable, Hashable {
    public struct MethodResult: Sendable, Hashable {
        /// Lower-cased: `spf`, `dkim`, `dmarc`, …
        public var method: String
        /// Lower-cased: `pass`, `fail`, `none`, …
        public var result: String
        /// `ptype.property` (lower-cased) → value as written (quotes removed).
        public var properties: [String: String]
    }

    /// Lower-cased.
    public var authservID: String
    public var results: [MethodResult]

    public static func parse(_ value: String) -> AuthenticationResults? {
        let text = withoutComments(value)
        var statements = split(text, on: ";")
        guard !statements.isEmpty else { return nil }
        // authserv-id [version]
        let head = words(statements.removeFirst())
        guard let id = head.first, !id.contains("=") else { return nil }
        var results: [MethodResult] = []
        for statement in statements {
            let parts = words(statement)
            guard let first = parts.first, let equals = first.firstIndex(of: "=") else { continue }
            var method = first[..<equals].lowercased()
            if let slash = method.firstIndex(of: "/") { method = String(method[..<slash]) }
            let result = unquoted(first[first.index(after: equals)...]).lowercased()
            guard !method.isEmpty, !result.isEmpty else { continue }
            var properties: [String: String] = [:]
            for part in parts.dropFirst() {
                guard let equals = part.firstIndex(of: "=") else { continue }
                let key = part[..<equals].lowercased()
                guard key.contains(".") else { continue }  // `reason=` and the like
                properties[key] = unquoted(part[part.index(after: equals)...])
            }
            results.append(MethodResult(method: method, result: result, properties: properties))
        }
        return AuthenticationResults(authservID: id.lowercased(), results: results)
    }

    /// Whether these results say the receiving server authenticated `fromDomain`: `dmarc=pass`
    /// (for `header.from` = that domain, when the property is given), or `spf=pass` whose
    /// `smtp.mailfrom` is in that domain. DKIM alone does not count (the issue asks for DMARC or
    /// SPF; an aligned DKIM pass is what makes DMARC pass anyway).
    public func authenticates(fromDomain: String) -> Bool {
        let domain = fromDomain.lowercased()
        guard !domain.isEmpty else { return false }
        for entry in results where entry.result == "pass" {
            switch entry.method {
            case "dmarc":
                if let from = entry.properties["header.from"] {
                    if Self.domain(of: from) == domain { return true }
                } else {
                    return true
                }
            case "spf":
                if let mailFrom = entry.properties["smtp.mailfrom"], Self.domain(of: mailFrom) == domain { return true }
            default:
                continue
            }
        }
        return false
    }

    /// `user@Example.RU` and `Example.RU` → `example.ru`.
    static func domain(of value: String) -> String {
        let trimmed = value.drop { "<> ".contains($0) }.reversed().drop { "<> ".contains($0) }.reversed()
        let text = String(trimmed)
        let domain = text.lastIndex(of: "@").map { String(text[text.index(after: $0)...]) } ?? text
        var lowered = Substring(domain.lowercased())
        while lowered.last == "." { lowered = lowered.dropLast() }
        return String(lowered)
    }

    /// Drops `( … )` comments (nested, with `\` escapes), outside quoted strings.
    static func withoutComments(_ value: String) -> String {
        var result = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in value {
            if escaped {
                escaped = false
                if depth == 0 { result.append(character) }
                continue
            }
            switch character {
            case "\\":
                escaped = true
                if depth == 0 { result.append(character) }
            case "\"" where depth == 0:
                quoted.toggle()
                result.append(character)
            case "(" where !quoted:
                depth += 1
            case ")" where !quoted && depth > 0:
                depth -= 1
                if depth == 0 { result.append(" ") }
            default:
                if depth == 0 { result.append(character) }
            }
        }
        return result
    }

    /// Splits on `separator` outside quoted strings.
    static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in text {
            if escaped {
                escaped = false
                current.append(character)
                continue
            }
            if character == "\\" && quoted { escaped = true; current.append(character); continue }
            if character == "\"" { quoted.toggle() }
            if character == separator, !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts.map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
    }

    /// Whitespace-separated words; `a = b` is read as `a=b`, and a quoted string stays one word.
    static func words(_ text: String) -> [String] {
        var words = split(text, on: " ").flatMap { split($0, on: "\t") }
        var index = 0
        while index < words.count {
            if words[index] == "=", index > 0, index + 1 < words.count {
                words[index - 1] += "=" + words[index + 1]
                words.removeSubrange(index...(index + 1))
            } else if words[index].hasSuffix("="), words[index].count > 1, index + 1 < words.count, !words[index + 1].contains("=") {
                words[index] += words[index + 1]
                words.remove(at: index + 1)
                index += 1
            } else if words[index].hasPrefix("="), index > 0, !words[index - 1].contains("=") {
                words[index - 1] += words[index]
                words.remove(at: index)
            } else {
                index += 1
            }
        }
        return words
    }

    static func unquoted<S: StringProtocol>(_ value: S) -> String {
        var value = String(value)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        return value
    }
}

extension MailMessage {
    /// Whether the receiving server authenticated the `From` domain (DMARC or SPF pass, see
    /// `AuthenticationResults.authenticates(fromDomain:)`).
    ///
    /// Only the receiving server's own `Authentication-Results` is believed: with
    /// `authservID` (the mailbox's `authserv_id`), the topmost field written under that id;
    /// without it, the topmost field of all (the last one added, by the server that delivered
    /// the mail to the mailbox). Fields further down may be anyone's, the sender's included.
    public func fromAuthenticated(authservID: String?) -> Bool {
        guard let address = from?.address, let at = address.lastIndex(of: "@") else { return false }
        let domain = String(address[address.index(after: at)...])
        let fields = headers.all(named: "authentication-results").compactMap(AuthenticationResults.parse)
        let trusted: AuthenticationResults?
        if let authservID {
            trusted = fields.first { $0.authservID == authservID.lowercased() }
        } else {
            trusted = fields.first
        }
        return trusted?.authenticates(fromDomain: domain) ?? false
    }
}
