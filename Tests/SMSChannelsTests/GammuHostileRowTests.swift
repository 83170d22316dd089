import Foundation
import GRDB
import Logging
import MeterCore
import Testing
@testable import SMSChannels

/// Issue 13, item 1: SMSD's database is written by another program, and SQLite stores what it
/// is given whatever a column's type. Every numeric column the source and the transport read
/// (`ReceivingDateTime`, `UpdatedInDB`, `MessageID`, `SequencePosition`, `PartCount`, `UDH`,
/// `sentitems.StatusError`) is swept with nan, inf, -1, 1e300, 2^63, 2^64 and text: nothing
/// traps, every row still comes out as exactly one message, and its time is finite.
@Suite("Gammu SMSD rows: hostile numbers")
struct GammuHostileRowTests {
    static let hostile: [DatabaseValue] = [
        "nan".databaseValue, "inf".databaseValue, (-1).databaseValue, (1e300).databaseValue, (-Double.infinity).databaseValue,
        Int64.max.databaseValue, (9_223_372_036_854_775_808.0).databaseValue, (18_446_744_073_709_551_616.0).databaseValue,
        "9999-99-99 99:99:99".databaseValue, "2026-11-21 08:00:00".databaseValue, "".databaseValue, DatabaseValue.null, 0.databaseValue,
    ]

    @Test("inbox columns", arguments: 0..<hostile.count)
    func inbox(_ index: Int) async throws {
        let value = Self.hostile[index]
        let file = try SMSDDatabaseFile(multipartColumns: true)
        defer { file.remove() }
        // Two rows that claim to be parts of one message, one plain row, one with a hostile UDH.
        try file.receive("+79031234567", "1234567 ")
        try file.receive("+79031234567", "12345")
        try file.receive("+79031234568", "7654321 100")
        try file.receive("+79031234569", "1111111 1", udh: "050003FF00FF")
        try file.execute("UPDATE inbox SET MessageID = ?, SequencePosition = ?, PartCount = ? WHERE ID IN (1, 2)", [value, value, value])
        let notNull = value.isNull ? "".databaseValue : value  // the schema's NOT NULL columns
        try file.execute("UPDATE inbox SET ReceivingDateTime = ?, UpdatedInDB = ? WHERE ID IN (2, 3)", [notNull, notNull])
        let feed = GammuSMSDSource(name: "gw", database: GammuSMSDDatabase(path: file.path), multipartWait: 0,
                                   timeZone: TimeZone(identifier: "UTC")!)
        let messages = try await feed.poll(limit: 10)
        let rows = messages.flatMap { message -> [String] in [message.externalID] }
        #expect(Set(rows).count == rows.count)
        #expect(messages.count >= 3 && messages.count <= 4, "\(value): \(messages.compactMap(\.text))")
        #expect(messages.allSatisfy { $0.receivedAt.timeIntervalSince1970.isFinite })
        #expect(messages.compactMap(\.text).joined().contains("7654321 100"))
        try await feed.acknowledge(messages.map(\.externalID))
        #expect(try file.rows("SELECT COUNT(*) FROM inbox WHERE Processed = 'false'").first?[0] == 0, "\(value)")
    }

    @Test("sentitems columns", arguments: 0..<hostile.count)
    func sentItems(_ index: Int) async throws {
        let value = Self.hostile[index].isNull ? "".databaseValue : Self.hostile[index]  // NOT NULL columns
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        let database = GammuSMSDDatabase(path: file.path)
        let transport = GammuSMSDTransport(name: "gw", database: database)
        #expect(await transport.deliver(OutgoingReply(id: 10, channel: .sms, recipient: "+79031234567", body: "a", createdAt: Date())) == .delivered)
        try file.execute("INSERT INTO sentitems (ID, DestinationNumber, Status, StatusError, SequencePosition, CreatorID) VALUES (1, ?, 'SendingError', ?, ?, 'metergate')",
                         [value, value, value])
        let failures = try await database.checkSentItems(logger: Logger(label: "test"), force: true)
        #expect(failures.map(\.replyID) == [10], "\(value)")
    }
}
