import Ledger
import ReadingsGrammar

/// The billing export of accounts (contract §4): header required, columns in any order,
/// unknown columns ignored; a bad row is reported with its line and skipped.
public enum AccountsCSV {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public struct Result: Sendable {
        public var accounts: [Account]
        /// Rows skipped: the import still happens for the good rows, and exits 1.
        public var problems: [Problem]
        /// Worth telling, not wrong (a UIN repeated: the later row wins).
        public var warnings: [Problem] = []
    }

    /// `uinDigits`: the grammar's UIN length (a UIN outside it could never be read from a message).
    public static func parse(_ bytes: [UInt8], uinDigits: ClosedRange<Int> = 1...64) -> Result {
        var reader = CSVReader(bytes: bytes)
        guard let header = reader.next() else {
            return Result(accounts: [], problems: [Problem(line: 1, reason: "the file is empty; a header row is required")])
        }
        let names = header.fields.map { trimmed($0).lowercased() }
        func column(_ name: String) -> Int? { names.firstIndex(of: name) }
        guard let uinColumn = column("uin"), let metersColumn = column("meters") else {
            let missing = ["uin", "meters"].filter { column($0) == nil }.joined(separator: ", ")
            return Result(accounts: [], problems: [Problem(
                line: header.line, reason: "the header lacks required column(s) \(missing) (found: \(names.joined(separator: ",")))")])
        }
        let previousColumn = column("previous")
        let digitsColumn = column("digits")
        let phonesColumn = column("phones")
        let emailsColumn = column("emails")

        var accounts: [Account] = []
        var problems: [Problem] = []
        var warnings: [Problem] = []
        var seen: [String: (line: Int, index: Int)] = [:]
        for record in reader {
            if record.fields.count == 1, trimmed(record.fields[0]).isEmpty { continue }
            func field(_ index: Int?) -> String {
                guard let index, index < record.fields.count else { return "" }
                return trimmed(record.fields[index])
            }
            func bad(_ reason: String) { problems.append(Problem(line: record.line, reason: reason)) }
            if record.malformed { bad("malformed quoting"); continue }
            if record.fields.count < names.count { bad("\(record.fields.count) fields, the header has \(names.count)"); continue }
            // Text that is not UTF-8 (decoded as U+FFFD) or holds control characters (an escape
            // sequence in a label would reach replies, logs and the operator's terminal).
            if let column = [uinColumn, metersColumn, previousColumn, digitsColumn, phonesColumn, emailsColumn]
                .compactMap({ $0 }).first(where: { field($0).unicodeScalars.contains(where: { $0 == "\u{FFFD}" }) }) {
                bad("\(names[column]) is not valid UTF-8"); continue
            }
            if let column = [uinColumn, metersColumn, previousColumn, digitsColumn, phonesColumn, emailsColumn]
                .compactMap({ $0 }).first(where: { field($0).unicodeScalars.contains(where: OutcomeLogLine.needsEscape) }) {
                bad("\(names[column]) \(quote(field(column))) holds control characters"); continue
            }
            let uin = field(uinColumn)
            guard !uin.isEmpty, uin.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                bad("uin \(quote(uin)) is not digits"); continue
            }
            guard uinDigits.contains(uin.utf8.count) else {
                bad("uin \(quote(uin)) has \(uin.utf8.count) digits; the grammar reads UINs of \(uinDigits.lowerBound)–\(uinDigits.upperBound)"); continue
            }
            let meters = field(metersColumn).split(separator: ";").map { trimmed($0) }
            guard !meters.isEmpty, meters.allSatisfy({ !$0.isEmpty }) else { bad("meters \(quote(field(metersColumn))) is empty"); continue }
            guard Set(meters.map { $0.uppercased() }).count == meters.count else { bad("meters \(quote(field(metersColumn))) repeats a label"); continue }
            var previous: [String?] = []
            let previousText = field(previousColumn)
            if !previousText.isEmpty {
                let parts = previousText.split(separator: ";", omittingEmptySubsequences: false).map { trimmed($0) }
                guard parts.count == meters.count else {
                    bad("previous has \(parts.count) value(s) for \(meters.count) meter(s)"); continue
                }
                var ok = true
                for part in parts {
                    if part.isEmpty { previous.append(nil); continue }
                    guard let value = MeterValue(part.contains(",") ? part.replacingOccurrences(of: ",", with: ".") : part) else {
                        bad("previous value \(quote(part)) is not a decimal number"); ok = false; break
                    }
                    previous.append(value.description)
                }
                if !ok { continue }
            }
            var digits: Int?
            let digitsText = field(digitsColumn)
            if !digitsText.isEmpty {
                guard let value = Int(digitsText), (1...15).contains(value) else {
                    bad("digits \(quote(digitsText)) is not a whole number from 1 to 15"); continue
                }
                digits = value
                // A previous reading the register cannot show (99999 is the most 5 digits hold).
                if let over = previous.compactMap({ $0 }).first(where: { $0.split(separator: ".")[0].count > value }) {
                    bad("previous value \(quote(over)) has more digits than the register's \(value)"); continue
                }
            }
            let phones = field(phonesColumn).split(separator: ";").map { Contact.normalizePhone(String($0)) }.filter { !$0.isEmpty }
            if let long = phones.first(where: Contact.isOverlongPhone) {
                bad("phone \(quote(long)) has more digits than E.164 allows (15)"); continue
            }
            let emails = field(emailsColumn).split(separator: ";").map { Contact.normalizeEmail(String($0)) }.filter { !$0.isEmpty }
            if let bad = emails.first(where: { !$0.contains("@") }) {
                problems.append(Problem(line: record.line, reason: "email \(quote(bad)) has no @")); continue
            }
            let account = Account(uin: uin, meters: meters, previous: previous, digits: digits, phones: phones, emails: emails)
            if let first = seen[uin] {
                warnings.append(Problem(line: record.line, reason: "uin \(uin) repeats line \(first.line); the later row wins"))
                accounts[first.index] = account
                seen[uin] = (record.line, first.index)
            } else {
                seen[uin] = (record.line, accounts.count)
                accounts.append(account)
            }
        }
        return Result(accounts: accounts, problems: problems, warnings: warnings)
    }
}

import Foundation

/// A value as an error line quotes it: at most 80 characters, control characters escaped.
func quote(_ text: String) -> String {
    let short = text.unicodeScalars.count > 80 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(80))) + "…" : text
    return "'" + OutcomeLogLine.escaped(short) + "'"
}

/// Spaces and tabs trimmed from both ends (ASCII only: fast on a million rows).
func trimmed(_ text: some StringProtocol) -> String {
    let text = String(text)
    let utf8 = text.utf8
    guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
    let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
    if first == utf8.startIndex, last == utf8.index(before: utf8.endIndex) { return text }
    return String(text[first...last])
}
