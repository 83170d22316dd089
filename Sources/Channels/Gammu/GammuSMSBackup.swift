import Foundation
import MeterCore

/// A Gammu SMS backup file (`InboxFormat = detail`): an INI text with one
/// `[SMSBackupNNN]` section per message part, written by `SaveSMSBackupTextFile` in
/// `libgammu/service/backup/backtext.c`. SMSD puts all parts of a long message in one file.
///
/// Keys read: `Number = "…"` (locale charset) and `NumberUnicode = <hex UTF-16BE>`;
/// `Text00`, `Text01`, … = hex, joined (200 hex digits a line); `Coding` =
/// `Default_No_Compression` / `Unicode_No_Compression` (text as UTF-16BE) or `8bit` (raw
/// bytes); `DateTime = YYYYMMDDTHHMMSS[Z]`; `PDU = Deliver | Submit | Status_Report`.
package struct GammuSMSBackup: Sendable, Hashable {
    package struct Part: Sendable, Hashable {
        package var sender: String?
        package var text: String?
        package var isBinary: Bool
        package var isStatusReport: Bool
        package var dateTime: Date?
    }

    package var parts: [Part]

    /// True when `bytes` look like an SMS backup (a `[SMSBackup…]` section line).
    package static func looksLikeBackup(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).contains {
            $0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("[smsbackup")
        }
    }

    package init(parsing bytes: [UInt8], timeZone: TimeZone) {
        // The structure is ASCII; only comments and `Number`/`Name` carry other bytes.
        let text = String(decoding: bytes, as: UTF8.self)
        var sections: [[String: String]] = []
        var current: [String: String]?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                if let current { sections.append(current) }
                current = line.lowercased().hasPrefix("[smsbackup") ? [:] : nil
                continue
            }
            guard current != nil, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            current?[key] = value
        }
        if let current { sections.append(current) }
        parts = sections.map { Self.part(from: $0, timeZone: timeZone) }
    }

    private static func part(from section: [String: String], timeZone: TimeZone) -> Part {
        var sender: String?
        if let hex = section["numberunicode"], let bytes = Hex.bytes(hex), !bytes.isEmpty {
            sender = GammuInboxText.utf16(bytes[...], bigEndian: true)
        } else if var quoted = section["number"] {
            if quoted.hasPrefix("\""), quoted.hasSuffix("\""), quoted.count >= 2 {
                quoted = String(quoted.dropFirst().dropLast())
            }
            sender = quoted
        }
        if sender?.isEmpty == true { sender = nil }

        let coding = section["coding"]?.lowercased() ?? "default_no_compression"
        let isBinary = coding == "8bit"
        var hex = ""
        var line = 0
        while let chunk = section[String(format: "text%02d", line)] {
            hex += chunk
            line += 1
        }
        var text: String?
        if !isBinary, let bytes = Hex.bytes(hex) {
            text = GammuInboxText.utf16(bytes[...], bigEndian: true)
        }
        return Part(
            sender: sender, text: text, isBinary: isBinary,
            isStatusReport: section["pdu"]?.lowercased() == "status_report",
            dateTime: section["datetime"].flatMap { date(from: $0, timeZone: timeZone) })
    }

    /// `20261120T081500` (local) or `20261120T081500Z` (UTC).
    private static func date(from value: String, timeZone: TimeZone) -> Date? {
        let isUTC = value.hasSuffix("Z")
        let digits = Array((isUTC ? String(value.dropLast()) : value).utf8)
        guard digits.count == 15, digits[8] == UInt8(ascii: "T") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            Int(String(decoding: digits[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = isUTC ? TimeZone(identifier: "UTC")! : timeZone
        return calendar.date(from: DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }
}
