import Foundation
import Testing
@testable import Channels

@Suite("Gammu SMS backup (detail format)")
struct GammuSMSBackupTests {
    static func hex(_ text: String) -> String {
        text.utf16.map { String(format: "%04X", $0) }.joined()
    }

    /// Two parts of one long message, as `SaveSMSBackupTextFile` writes them.
    static func twoParts(first: String, second: String, pdu: String = "Deliver") -> [UInt8] {
        let sections = [(0, first, "20261120T081500"), (1, second, "20261120T081502")].map { index, text, time in
            """
            [SMSBackup00\(index)]
            ; \(text)
            SMSC = "+79168999100"
            SMSCUnicode = 002B00370039003100360038003900390039003100300030
            PDU = \(pdu)
            DateTime = \(time)
            State = UnRead
            Number = "+79031234567"
            NumberUnicode = \(hex("+79031234567"))
            Name = ""
            NameUnicode = \u{20}
            UDH = 050003AB020\(index + 1)
            Text00 = \(hex(text))
            Coding = Unicode_No_Compression
            Folder = 1
            Length = \(text.utf16.count)
            Class = -1
            ReplySMSC = False
            RejectDuplicates = False
            ReplaceMessage = 0
            MessageReference = 0

            """
        }
        let header = "; This file format was designed for Gammu and is compatible with Gammu+\n"
            + "; See https://wammu.eu/ for more info\n; Saved 20261120T081510 (Fri 20 Nov 2026 08:15:10)\n\n"
        return Array((header + sections.joined()).replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    @Test func parsesPartsInOrder() throws {
        let bytes = Self.twoParts(first: "123456 ", second: "7890 показания")
        #expect(GammuSMSBackup.looksLikeBackup(bytes))
        let backup = GammuSMSBackup(parsing: bytes, timeZone: try #require(TimeZone(identifier: "UTC")))
        #expect(backup.parts.map(\.text) == ["123456 ", "7890 показания"])
        #expect(backup.parts.map(\.sender) == ["+79031234567", "+79031234567"])
        #expect(backup.parts[0].dateTime == ISO8601DateFormatter().date(from: "2026-11-20T08:15:00Z"))
        #expect(!backup.parts[0].isStatusReport)
    }

    @Test func longTextSpreadOverLines() throws {
        let text = String(repeating: "1234567890", count: 7)   // 70 characters = 280 hex digits
        let digits = Self.hex(text)
        let index = digits.index(digits.startIndex, offsetBy: 200)
        let file = "[SMSBackup000]\nNumber = \"+79031234567\"\nText00 = \(digits[..<index])\nText01 = \(digits[index...])\nCoding = Unicode_No_Compression\nDateTime = 20261120T081500Z\n"
        let backup = GammuSMSBackup(parsing: Array(file.utf8), timeZone: .current)
        #expect(backup.parts.map(\.text) == [text])
        #expect(backup.parts[0].dateTime == ISO8601DateFormatter().date(from: "2026-11-20T08:15:00Z"))
    }

    @Test func plainTextIsNoBackup() {
        #expect(!GammuSMSBackup.looksLikeBackup(Array("123456 7890".utf8)))
    }
}
