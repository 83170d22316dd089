import MeterCore

/// What never reaches the log: secrets (always) and personal data (unless `log.personal_data`).
///
/// Secrets: the password in a URL's user info (`imap://user:pw@host` → `imap://user:***@host`)
/// and the value of `password=`, `secret=`, `token=` and the like in a query or a message.
/// Personal data: e-mail addresses (`iv***@example.ru`) and runs of 11 or more digits (phone
/// numbers, also inside file names and ids: `+7903***4567`).
enum LogRedaction {
    static let secretKeys = ["password=", "passwd=", "pass=", "pwd=", "secret=", "token=", "api_key=", "apikey=", "psw="]

    static func secrets(_ text: String) -> String {
        var text = text
        if text.contains("://") { text = urlPasswords(text) }
        // Every key ends in `=`: a text without one needs no (costly, case-insensitive) search.
        guard text.utf8.contains(UInt8(ascii: "=")) else { return text }
        for key in secretKeys where containsIgnoringASCIICase(text, key) {
            text = maskValues(after: key, in: text)
        }
        return text
    }

    /// `key` (ASCII) occurs in `text`, ignoring ASCII case: a byte scan, no Foundation bridging.
    static func containsIgnoringASCIICase(_ text: String, _ key: String) -> Bool {
        let key = Array(key.utf8).map { $0 | 0x20 }
        guard let first = key.first else { return true }
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= key.count else { return false }
            var index = 0
            while index + key.count <= bytes.count {
                if bytes[index] | 0x20 == first {
                    var matched = 1
                    while matched < key.count, bytes[index + matched] | 0x20 == key[matched] { matched += 1 }
                    if matched == key.count { return true }
                }
                index += 1
            }
            return false
        }
    }

    static func personalData(_ text: String) -> String {
        var text = text
        if text.contains("@") { text = emails(text) }
        if text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) { text = Contact.maskDigitRuns(in: text) }
        return text
    }

    private static func isDelimiter(_ character: Character) -> Bool {
        character.isWhitespace || "&\"',;)]}>".contains(character)
    }

    /// `scheme://user:password@host` → `scheme://user:***@host`.
    private static func urlPasswords(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let marker = rest.range(of: "://") {
            result += rest[..<marker.upperBound]
            rest = rest[marker.upperBound...]
            let authority = rest.prefix { !isDelimiter($0) && $0 != "/" }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += rest[..<colon] + ":***"
                rest = rest[at...]
            }
        }
        return result + rest
    }

    /// `key=value` → `key=***` wherever `key` occurs (case-insensitive).
    private static func maskValues(after key: String, in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let found = rest.range(of: key, options: .caseInsensitive) {
            result += rest[..<found.upperBound]
            rest = rest[found.upperBound...]
            let value = rest.prefix { !isDelimiter($0) }
            if !value.isEmpty {
                result += "***"
                rest = rest[value.endIndex...]
            }
        }
        return result + rest
    }

    /// `ivanov@example.ru` → `iv***@example.ru` (an address already masked stays as it is).
    private static func emails(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let at = rest.firstIndex(of: "@") {
            let before = rest[..<at]
            let localStart = before.lastIndex { isDelimiter($0) || "<(:=".contains($0) }.map { before.index(after: $0) } ?? before.startIndex
            let local = before[localStart...]
            let after = rest[rest.index(after: at)...]
            let domain = after.prefix { !isDelimiter($0) && $0 != "/" }
            if !local.isEmpty, domain.contains("."), !local.hasSuffix("***"), !local.contains("/") {
                result += before[..<localStart] + local.prefix(2) + "***@"
            } else {
                result += before + "@"
            }
            rest = after
        }
        return result + rest
    }
}
