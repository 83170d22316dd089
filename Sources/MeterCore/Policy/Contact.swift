/// Phone numbers and e-mail addresses: normalisation for matching, masking for logs.
public enum Contact {
    /// E.164 for Russian-style numbers (`8 903 …`, `+7 (903) …`, `7903…` → `+7903…`);
    /// other numbers keep their digits with a `+`; alphanumeric senders and short codes come
    /// back trimmed. Separators: spaces (also no-break and thin ones), `-` and the Unicode
    /// dashes, `(`, `)`, `.`, `/`.
    public static func normalizePhone(_ text: String) -> String {
        // Fast path: already E.164.
        let utf8 = text.utf8
        if utf8.count >= 8, utf8.first == 0x2B, utf8.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return text
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let digits = trimmed.unicodeScalars.filter { $0.properties.numericType == .decimal && $0.isASCII }
        let allowed = trimmed.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.numericType == .decimal || " +-()./".unicodeScalars.contains($0)))
                || separators.contains($0)
        }
        guard allowed, digits.count >= 5 else { return trimmed }
        var number = String(String.UnicodeScalarView(digits))
        if number.count == 11, number.hasPrefix("8") { number = "7" + number.dropFirst() }
        if number.count == 10, number.hasPrefix("9") { number = "7" + number }
        return "+" + number
    }

    /// No-break and thin spaces, hyphens and dashes people (and phones' contact lists) put in numbers.
    static let separators: Set<Unicode.Scalar> = [
        "\u{00A0}", "\u{2007}", "\u{2009}", "\u{202F}", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2212}",
    ]

    public static func normalizeEmail(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// More digits than E.164 allows (15), in what is otherwise written as a phone number.
    public static func isOverlongPhone(_ text: String) -> Bool {
        var digits = 0
        for scalar in text.unicodeScalars {
            if scalar.isASCII, scalar.properties.numericType == .decimal { digits += 1 } else if scalar.properties.isAlphabetic { return false }
        }
        return digits > 15
    }

    /// Whether `sender` looks like a phone number (digits, optionally `+`), as opposed to a
    /// short code or an alphanumeric sender id that cannot be answered.
    public static func isReplyablePhone(_ normalized: String) -> Bool {
        guard normalized.hasPrefix("+") else { return false }
        return normalized.count >= 11 && normalized.dropFirst().allSatisfy(\.isASCII) && normalized.dropFirst().allSatisfy(\.isNumber)
    }

    /// Masks every run of 11 or more digits (a phone number inside an id or a file name).
    public static func maskDigitRuns(in text: String) -> String {
        var result = ""
        var run = ""
        func flush() {
            result += run.count >= 11 ? String(run.prefix(4)) + "***" + String(run.suffix(4)) : run
            run = ""
        }
        for character in text {
            if character.isASCII, character.isNumber { run.append(character) } else { flush(); result.append(character) }
        }
        flush()
        return result
    }

    /// A message id as the log shows it: every run of 11 or more digits masked, and also a
    /// shorter number that is the sender's own (a Gammu file name carries the sender however
    /// short) or follows a `+`, so that no phone number shows in `id=` that `from` masks.
    public static func maskID(_ id: String, sender: String? = nil) -> String {
        var id = id
        // An address in an id (a replay line's id, a POP3 UIDL, a Kannel id): its local part masked.
        if id.contains("@") { id = maskAddresses(in: id) }
        let senderDigits = sender.map { String($0.filter { $0.isASCII && $0.isNumber }) } ?? ""
        if senderDigits.count >= 3, senderDigits.count < 11 {
            id = id.replacingOccurrences(of: senderDigits, with: String(senderDigits.prefix(2)) + "***")
        }
        guard id.contains("+") else { return maskDigitRuns(in: id) }
        var result = ""
        var afterPlus = false
        var run = ""
        func flush() {
            result += afterPlus && (3..<11).contains(run.count) ? String(run.prefix(2)) + "***" : run
            run = ""
        }
        for character in id {
            if character.isASCII, character.isNumber, afterPlus {
                run.append(character)
                continue
            }
            flush()
            afterPlus = character == "+"
            result.append(character)
        }
        flush()
        return maskDigitRuns(in: result)
    }

    /// Every `local@…` in `text` with its local part cut to two characters and `***`, as `mask` does.
    static func maskAddresses(in text: String) -> String {
        let delimiters: Set<Character> = [":", "/", " ", "<", ">", ",", ";", "\"", "'", "(", ")", "[", "]", "=", "&", "?", "|", "\t", "\n"]
        var characters = Array(text)
        var index = characters.startIndex
        while index < characters.endIndex {
            guard characters[index] == "@" else { index += 1; continue }
            var start = index
            while start > 0, !delimiters.contains(characters[start - 1]), characters[start - 1] != "@" { start -= 1 }
            let length = index - start
            if length > 0 {
                let kept = Array(characters[start..<(start + min(2, length))])
                characters.replaceSubrange(start..<index, with: kept + Array("***"))
                index = start + kept.count + 3
            }
            index += 1
        }
        return String(characters)
    }

    /// `+79031234567` → `+7903***4567`; `ivanov@example.ru` → `iv***@example.ru`.
    public static func mask(_ sender: String?) -> String {
        guard let sender, !sender.isEmpty else { return "-" }
        if let at = sender.firstIndex(of: "@") {
            let local = sender[..<at]
            return String(local.prefix(2)) + "***" + sender[at...]
        }
        if sender.count >= 9 {
            return String(sender.prefix(5)) + "***" + String(sender.suffix(4))
        }
        return String(sender.prefix(2)) + "***"
    }
}

import Foundation
