import Foundation
import Testing
@testable import Channels
import MeterCore

@Suite("GammuFilesSource")
struct GammuFilesSourceTests {
    let utc = TimeZone(identifier: "UTC")!

    func source(_ temp: TemporaryDirectory, settle: TimeInterval = 0) -> GammuFilesSource {
        GammuFilesSource(
            name: "files", inbox: temp.url.appendingPathComponent("sms/inbox"),
            processed: temp.url.appendingPathComponent("sms/processed"),
            settleInterval: settle, timeZone: utc)
    }

    static func unicode(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = [0xFE, 0xFF]
        for unit in text.utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        return bytes
    }

    @Test func readsSingleMessagesOldestFirst() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        try temp.write(Self.unicode("123456 7890"), to: "sms/inbox/IN20261120_081500_00_+79031234567_00.txt")
        try temp.write(Array("654321 1".utf8), to: "sms/inbox/IN20261120_071500_00_89161234567_00.txt")
        let messages = try await inbox.poll(limit: 10)
        #expect(messages.map(\.externalID) == [
            "gammu-files:IN20261120_071500_00_89161234567_00.txt",
            "gammu-files:IN20261120_081500_00_+79031234567_00.txt",
        ])
        #expect(messages.map(\.text) == ["654321 1", "123456 7890"])
        #expect(messages.map(\.sender) == ["89161234567", "+79031234567"])
        #expect(messages[1].receivedAt == ISO8601DateFormatter().date(from: "2026-11-20T08:15:00Z"))
        #expect(messages[1].channel == .sms)
        #expect(messages[1].feed == "files")
        #expect(messages[1].raw == nil)
    }

    @Test func joinsMultipartFiles() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        // Two long messages from one sender a minute apart, both serial 00; parts carry
        // their own SMSC times. Plus a lone part 01 whose part 00 never came.
        try temp.write(Self.unicode("111111 "), to: "sms/inbox/IN20261120_081500_00_+79031234567_00.txt")
        try temp.write(Self.unicode("1000"), to: "sms/inbox/IN20261120_081502_00_+79031234567_01.txt")
        try temp.write(Self.unicode("222222 "), to: "sms/inbox/IN20261120_081600_00_+79031234567_00.txt")
        try temp.write(Self.unicode("2000 "), to: "sms/inbox/IN20261120_081601_00_+79031234567_01.txt")
        try temp.write(Self.unicode("3000"), to: "sms/inbox/IN20261120_081603_00_+79031234567_02.txt")
        try temp.write(Self.unicode("orphan"), to: "sms/inbox/IN20261120_101500_00_+79990000000_01.txt")

        let messages = try await inbox.poll(limit: 10)
        #expect(messages.map(\.text) == ["111111 1000", "222222 2000 3000", "orphan"])
        #expect(messages.map(\.externalID) == [
            "gammu-files:IN20261120_081500_00_+79031234567_00.txt",
            "gammu-files:IN20261120_081600_00_+79031234567_00.txt",
            "gammu-files:IN20261120_101500_00_+79990000000_01.txt",
        ])

        try await inbox.acknowledge([messages[1].externalID])
        #expect(try temp.names(in: "sms/processed") == [
            "IN20261120_081600_00_+79031234567_00.txt",
            "IN20261120_081601_00_+79031234567_01.txt",
            "IN20261120_081603_00_+79031234567_02.txt",
        ])
        #expect(try await inbox.poll(limit: 10).map(\.text) == ["111111 1000", "orphan"])
    }

    @Test func atLeastOnceUntilAcknowledged() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        try temp.write(Array("123456 7890".utf8), to: "sms/inbox/IN20261120_081500_00_+79031234567_00.txt")
        let first = try await inbox.poll(limit: 10)
        let second = try await inbox.poll(limit: 10)
        #expect(first.count == 1)
        #expect(first == second)
        try await inbox.acknowledge(first.map(\.externalID))
        #expect(try await inbox.poll(limit: 10).isEmpty)
        #expect(try temp.names(in: "sms/inbox").isEmpty)
        #expect(try temp.names(in: "sms/processed") == ["IN20261120_081500_00_+79031234567_00.txt"])
        // Again: nothing left to move, no error.
        try await inbox.acknowledge(first.map(\.externalID))
        // A fresh instance (after a restart) acknowledges by id alone.
        try temp.write(Array("1 2".utf8), to: "sms/inbox/IN20261121_081500_00_+79031234567_00.txt")
        let later = try await inbox.poll(limit: 10)
        try await source(temp).acknowledge(later.map(\.externalID))
        #expect(try temp.names(in: "sms/inbox").isEmpty)
    }

    @Test func handDroppedFiles() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        let when = Date(timeIntervalSince1970: 1_790_000_000)
        try temp.write(Array("123456 7890 Привет".utf8), to: "sms/inbox/my reading.txt", modified: when)
        try temp.write([0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2], to: "sms/inbox/cp1251.TXT", modified: when + 1)
        try temp.write(Array("ignored".utf8), to: "sms/inbox/notes.md", modified: when)
        try temp.write(Array("ignored".utf8), to: "sms/inbox/.draft.txt", modified: when)
        try temp.write([0x00, 0x01], to: "sms/inbox/IN20261120_081500_00_+79031234567_00.bin", modified: when)

        let messages = try await inbox.poll(limit: 10)
        #expect(messages.map(\.text) == ["123456 7890 Привет", "Привет"])
        #expect(messages.allSatisfy { $0.sender == nil })
        #expect(messages[0].externalID.hasPrefix("gammu-files:my reading.txt#"))
        #expect(abs(messages[0].receivedAt.timeIntervalSince(when)) < 1)

        try await inbox.acknowledge([messages[0].externalID])
        // The same name dropped again with new text is a new message; the old file is kept.
        try temp.write(Array("123456 7891".utf8), to: "sms/inbox/my reading.txt", modified: when + 5)
        let again = try await inbox.poll(limit: 10)
        #expect(again.map(\.text) == ["Привет", "123456 7891"])
        #expect(again[1].externalID != messages[0].externalID)
        try await inbox.acknowledge([again[1].externalID])
        #expect(try temp.names(in: "sms/processed") == ["my reading.txt", "my reading.txt.1"])
        #expect(try temp.names(in: "sms/inbox") == [
            ".draft.txt", "IN20261120_081500_00_+79031234567_00.bin", "cp1251.TXT", "notes.md",
        ].sorted())
    }

    @Test func detailFormatFile() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        try temp.write(
            GammuSMSBackupTests.twoParts(first: "123456 ", second: "7890"),
            to: "sms/inbox/IN20261120_081500_00_+79031234567_00.txt")
        try temp.write(
            GammuSMSBackupTests.twoParts(first: "Delivered", second: "", pdu: "Status_Report"),
            to: "sms/inbox/IN20261120_091500_00_+79031234567_00.txt")
        let messages = try await inbox.poll(limit: 10)
        #expect(messages.map(\.text) == ["123456 7890"])
        #expect(messages.map(\.sender) == ["+79031234567"])
        #expect(try temp.names(in: "sms/processed") == ["IN20261120_091500_00_+79031234567_00.txt"])
    }

    @Test func freshFilesWaitUntilSettled() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp, settle: 2)
        try temp.write(Array("old".utf8), to: "sms/inbox/IN20261120_081500_00_+79031234567_00.txt")
        try temp.write(Array("new".utf8), to: "sms/inbox/IN20261120_081600_00_+79031234567_00.txt", modified: Date())
        // Part 01 of the old message still being written holds back the whole message.
        try temp.write(Array("p0".utf8), to: "sms/inbox/IN20261120_081700_00_+79035555555_00.txt")
        try temp.write(Array("p1".utf8), to: "sms/inbox/IN20261120_081700_00_+79035555555_01.txt", modified: Date())
        #expect(try await inbox.poll(limit: 10).map(\.text) == ["old"])
    }

    @Test func limitCountsMessages() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let inbox = source(temp)
        for minute in 10..<15 {
            try temp.write(Array("m\(minute)".utf8), to: "sms/inbox/IN20261120_08\(minute)00_00_+79031234567_00.txt")
        }
        #expect(try await inbox.poll(limit: 2).map(\.text) == ["m10", "m11"])
    }
}
