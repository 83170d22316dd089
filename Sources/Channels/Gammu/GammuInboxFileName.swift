import Foundation

/// The name Gammu SMSD's files backend gives a received message part:
/// `IN<YYYYMMDD>_<HHMMSS>_<serial>_<sender>_<part>.<ext>`, e.g.
/// `IN20261120_081500_00_+79031234567_00.txt` (`smsd/services/files.c`,
/// `SMSDFiles_SaveInboxSMS`: `"IN%02d%02d%02d_%02d%02d%02d_%02i_%s_%02i.%s"` with a
/// four-digit year).
///
/// - `serial` tells apart messages from one sender in the same second (`00`…`99`); all
///   parts of one message share it.
/// - `part` is the 0-based index of the part in a long message (`00`, `01`, …), after SMSD
///   has sorted the parts.
/// - `sender` is the number as the network gave it, with `*` written as `X` and characters
///   not allowed in file names (`<>:"/\|?`, controls) written as `_`; it may be
///   alphanumeric (`MTS`, `Sber_Bank`).
/// - `ext` is `txt` for text, `bin` for 8-bit (binary) messages; the docs name
///   `smsbackup` for the `detail` format, though SMSD keeps `txt` there too.
package struct GammuInboxFileName: Sendable, Hashable {
    package enum Kind: Sendable, Hashable { case text, binary, smsBackup }

    package var year: Int, month: Int, day: Int
    package var hour: Int, minute: Int, second: Int
    package var serial: Int
    /// The sender as written in the name (escaped).
    package var rawSender: String
    package var part: Int
    package var kind: Kind

    /// Nil when `name` is not in Gammu's form.
    package init?(_ name: String) {
        guard name.hasPrefix("IN"), let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "txt": kind = .text
        case "bin": kind = .binary
        case "smsbackup": kind = .smsBackup
        default: return nil
        }
        let stem = name[name.index(name.startIndex, offsetBy: 2)..<dot]
        let fields = stem.split(separator: "_", omittingEmptySubsequences: false)
        // date, time, serial, sender (may itself hold "_"), part
        guard fields.count >= 5 else { return nil }
        let date = fields[0], time = fields[1], serialField = fields[2], partField = fields[fields.count - 1]
        guard date.count == 8, time.count == 6, !serialField.isEmpty, !partField.isEmpty,
              let dateValue = Self.digits(date), let timeValue = Self.digits(time),
              let serial = Self.digits(serialField), let part = Self.digits(partField)
        else { return nil }
        let sender = fields[3..<(fields.count - 1)].joined(separator: "_")
        guard !sender.isEmpty else { return nil }
        year = dateValue / 10_000
        month = dateValue / 100 % 100
        day = dateValue % 100
        hour = timeValue / 10_000
        minute = timeValue / 100 % 100
        second = timeValue % 100
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return nil
        }
        self.serial = serial
        self.rawSender = sender
        self.part = part
    }

    /// The sender with Gammu's reversible escape undone: in a number (digits, `+`, `#`,
    /// `X`) `X` stands for `*` (`*100#` is stored as `X100#`). Alphanumeric senders are kept.
    package var sender: String {
        let isNumberLike = rawSender.allSatisfy { $0.isASCII && ($0.isNumber || "+#X".contains($0)) }
            && rawSender.contains(where: \.isNumber)
        return isNumberLike ? rawSender.replacingOccurrences(of: "X", with: "*") : rawSender
    }

    /// The receiving time in the name, read in `timeZone` (SMSD writes the SMSC's local
    /// time stamp).
    package func date(in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59)))
    }

    /// The key shared by the parts of one message: everything but the part number and the
    /// time (each part carries its own SMSC time stamp).
    package var messageKey: String { "\(serial)_\(rawSender)" }

    private static func digits(_ text: Substring) -> Int? {
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}
