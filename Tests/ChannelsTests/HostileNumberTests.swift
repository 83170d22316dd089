import Foundation
import Testing
@testable import Channels

/// Issue 13, item 1: every numeric field of the file channels (Gammu inbox file names, Gammu
/// SMS backups, Maildir names) swept with nan, inf, -1, 1e300, 2^63, 2^64: none traps, and
/// what is read is either refused or a sane value.
@Suite("Files channels: hostile numbers")
struct FileChannelHostileNumberTests {
    static let hostile = ["nan", "inf", "-inf", "-1", "1e300", "9223372036854775807", "9223372036854775808",
                          "18446744073709551616", "99999999999999", "00000000", "-0000001", "+0000001", "0x7FFFFFFF"]
    static let utc = TimeZone(identifier: "UTC")!

    @Test("Gammu inbox file names: date, time, serial, sender and part", arguments: hostile)
    func inboxFileName(_ value: String) {
        let names = [
            "IN\(value)_081500_00_+79031234567_00.txt", "IN20261120_\(value)_00_+79031234567_00.txt",
            "IN20261120_081500_\(value)_+79031234567_00.txt", "IN20261120_081500_00_\(value)_00.txt",
            "IN20261120_081500_00_+79031234567_\(value).txt", "IN\(value)_\(value)_\(value)_\(value)_\(value).bin",
            "IN99999999_999999_00_+7903_00.txt", "IN20261131_246060_00_+7903_00.txt",
        ]
        for name in names {
            guard let parsed = GammuInboxFileName(name) else { continue }
            #expect((1...12).contains(parsed.month) && (1...31).contains(parsed.day), "\(name)")
            if let date = parsed.date(in: Self.utc) {
                #expect(date.timeIntervalSince1970.isFinite, "\(name)")
            }
        }
    }

    @Test("Gammu SMS backups: DateTime, Length, Class, UDH, Text lengths", arguments: hostile)
    func smsBackup(_ value: String) {
        let text = """
            [SMSBackup000]
            Number = "+79031234567"
            DateTime = \(value)
            Text00 = 00310032
            Coding = Unicode_No_Compression
            Length = \(value)
            Class = \(value)
            UDH = \(value)
            Folder = \(value)
            MessageReference = \(value)

            [SMSBackup001]
            Number = "+79031234567"
            DateTime = \(String(value.prefix(8)))T\(String(value.suffix(6)))
            Text00 = \(value)
            Coding = \(value)

            """
        let backup = GammuSMSBackup(parsing: Array(text.utf8), timeZone: Self.utc)
        #expect(backup.parts.count <= 2)
        for part in backup.parts {
            if let date = part.dateTime { #expect(date.timeIntervalSince1970.isFinite) }
        }
    }

    @Test("Maildir names with hostile times and sizes (S=, W=)", arguments: hostile)
    func maildirName(_ value: String) {
        for name in ["\(value).M1P2.host:2,S", "1732090000.M\(value)P\(value).host,S=\(value),W=\(value):2,\(value)", "\(value)"] {
            let parsed = MaildirFileName(name)
            #expect(!parsed.unique.isEmpty || name.isEmpty)
            _ = parsed.seenName
        }
    }
}
