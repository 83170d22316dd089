import Foundation
import GRDB
import Logging
import MeterCore
import Testing
@testable import SMSChannels

@Suite struct GammuConcatenationTests {
    @Test func eightBitReference() {
        let part = GammuConcatenation(udhHex: "050003AB0302")
        #expect(part == GammuConcatenation(reference: 0xAB, total: 3, sequence: 2))
    }

    @Test func sixteenBitReferenceAfterAnotherElement() {
        // Port addressing (05 04 …) first, then the 16-bit concatenation element.
        let part = GammuConcatenation(udhHex: "0C05040B8423F00804BEEF0201")
        #expect(part == GammuConcatenation(reference: 0xBEEF, total: 2, sequence: 1))
    }

    @Test func notAPartOfALongMessage() {
        #expect(GammuConcatenation(udhHex: "") == nil)
        #expect(GammuConcatenation(udhHex: "050003AB0101") == nil)  // one part only
        #expect(GammuConcatenation(udhHex: "050003AB0203") == nil)  // sequence beyond total
        #expect(GammuConcatenation(udhHex: "0500") == nil)
        #expect(GammuConcatenation(udhHex: "zz") == nil)
    }
}

/// An SMSD database with the tables and columns of Gammu's schema version 17 that the
/// source and the transport use (the real daemon is exercised in MetergateTests).
struct SMSDDatabaseFile {
    let directory: URL
    let path: String

    init(multipartColumns: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gammu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("smsd.db").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE gammu (Version INTEGER NOT NULL DEFAULT '0' PRIMARY KEY);
                INSERT INTO gammu (Version) VALUES (17);
                CREATE TABLE inbox (
                  UpdatedInDB NUMERIC NOT NULL DEFAULT (datetime('now')),
                  ReceivingDateTime NUMERIC NOT NULL DEFAULT (datetime('now')),
                  Text TEXT NOT NULL, SenderNumber TEXT NOT NULL DEFAULT '',
                  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression', UDH TEXT NOT NULL,
                  SMSCNumber TEXT NOT NULL DEFAULT '', Class INTEGER NOT NULL DEFAULT '-1',
                  TextDecoded TEXT NOT NULL DEFAULT '', ID INTEGER PRIMARY KEY AUTOINCREMENT,
                  RecipientID TEXT NOT NULL, Processed TEXT NOT NULL DEFAULT 'false',
                  Status INTEGER NOT NULL DEFAULT '-1'
                  \(multipartColumns ? ", MessageID INTEGER, SequencePosition INTEGER, PartCount INTEGER" : ""));
                CREATE TABLE outbox (
                  UpdatedInDB NUMERIC NOT NULL DEFAULT (datetime('now')),
                  InsertIntoDB NUMERIC NOT NULL DEFAULT (datetime('now')),
                  SendingDateTime NUMERIC NOT NULL DEFAULT (datetime('now')),
                  SendingTimeOut NUMERIC NOT NULL DEFAULT (datetime('now')),
                  DestinationNumber TEXT NOT NULL DEFAULT '', Coding TEXT NOT NULL DEFAULT 'Default_No_Compression',
                  TextDecoded TEXT NOT NULL DEFAULT '', ID INTEGER PRIMARY KEY AUTOINCREMENT,
                  MultiPart TEXT NOT NULL DEFAULT 'false', CreatorID TEXT NOT NULL);
                CREATE TABLE sentitems (
                  Text TEXT NOT NULL DEFAULT '', DestinationNumber TEXT NOT NULL DEFAULT '',
                  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression', UDH TEXT NOT NULL DEFAULT '',
                  TextDecoded TEXT NOT NULL DEFAULT '', ID INTEGER, SenderID TEXT NOT NULL DEFAULT '',
                  SequencePosition INTEGER NOT NULL DEFAULT '1', Status TEXT NOT NULL DEFAULT 'SendingOK',
                  StatusError INTEGER NOT NULL DEFAULT '-1', CreatorID TEXT NOT NULL,
                  PRIMARY KEY (ID, SequencePosition));
                """)
        }
    }

    func execute(_ sql: String, _ arguments: StatementArguments = []) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql, arguments: arguments) }
    }

    func rows(_ sql: String) throws -> [Row] {
        try DatabaseQueue(path: path).read { try Row.fetchAll($0, sql: sql) }
    }

    /// A row as gammu-smsd inserts it; `age` back-dates `UpdatedInDB`.
    func receive(_ sender: String, _ text: String, udh: String = "", at time: String = "2026-11-21 08:00:00", age: Int = 0) throws {
        try execute("""
            INSERT INTO inbox (UpdatedInDB, ReceivingDateTime, Text, SenderNumber, UDH, TextDecoded, RecipientID)
            VALUES (datetime('now', ?), ?, '', ?, ?, ?, 'harness')
            """, ["-\(age) seconds", time, sender, udh, text])
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite struct GammuSMSDSourceTests {
    func source(_ file: SMSDDatabaseFile, wait: TimeInterval = 60) -> GammuSMSDSource {
        GammuSMSDSource(name: "gw", database: GammuSMSDDatabase(path: file.path), multipartWait: wait,
                        timeZone: TimeZone(identifier: "UTC")!)
    }

    @Test func pollsUnprocessedRowsAndMarksThemAfterAcknowledge() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        try file.receive("+79031234567", "1234567 12345")
        try file.receive("+79031234568", "Показания 7654321 100")
        try file.execute("UPDATE inbox SET Processed = 'true' WHERE ID = 1")
        try file.receive("+79031234569", "7654321 200", at: "2026-11-21 09:30:15")
        let feed = source(file)
        let first = try await feed.poll(limit: 10)
        #expect(first.map(\.externalID) == ["gammu:gw:2", "gammu:gw:3"])
        #expect(first[0].text == "Показания 7654321 100")
        #expect(first[1].receivedAt == Date(timeIntervalSince1970: 1_795_253_415))
        // Not acknowledged yet: a second poll (after a crash) returns the same ids.
        #expect(try await feed.poll(limit: 10).map(\.externalID) == ["gammu:gw:2", "gammu:gw:3"])
        try await feed.acknowledge(["gammu:gw:2"])
        #expect(try file.rows("SELECT ID FROM inbox WHERE Processed = 'false'").map { $0[0] as Int64 } == [3])
        // A fresh source (restart) acknowledges by the id alone.
        try await source(file).acknowledge(["gammu:gw:3"])
        #expect(try await feed.poll(limit: 10).isEmpty)
    }

    @Test func joinsTheRowsOfALongMessageInSequenceOrder() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        try file.receive("+79031234567", "12345 ", udh: "050003110302")
        try file.receive("+79031234567", "1234567 ", udh: "050003110301")
        try file.receive("+79031234999", "other", udh: "")
        try file.receive("+79031234567", "678", udh: "050003110303")
        let feed = source(file)
        let messages = try await feed.poll(limit: 10)
        #expect(messages.map(\.externalID) == ["gammu:gw:1", "gammu:gw:3"])
        #expect(messages[0].text == "1234567 12345 678")
        try await feed.acknowledge(messages.map(\.externalID))
        #expect(try file.rows("SELECT COUNT(*) FROM inbox WHERE Processed = 'false'").first?[0] == 0)
    }

    @Test func takesSMSDsJoinedTextFromTheFirstPart() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        try file.receive("+79031234567", "Показания 1234567: 12345 678", udh: "060804BEEF0201")
        try file.receive("+79031234567", "", udh: "060804BEEF0202")
        let messages = try await source(file).poll(limit: 10)
        #expect(messages.map(\.text) == ["Показания 1234567: 12345 678"])
    }

    @Test func waitsForMissingPartsThenProcessesWhatCame() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        try file.receive("+79031234567", "1234567 ", udh: "050003220301", age: 5)
        try file.receive("+79031234567", "678", udh: "050003220303", age: 5)
        try file.receive("+79031234568", "7654321 1", age: 0)
        #expect(try await source(file, wait: 60).poll(limit: 10).map(\.externalID) == ["gammu:gw:3"])
        let late = try await source(file, wait: 3).poll(limit: 10)
        #expect(late.map(\.externalID) == ["gammu:gw:1", "gammu:gw:3"])
        #expect(late[0].text == "1234567  678")
    }

    @Test func usesSMSDsMultipartColumnsWhereTheSchemaHasThem() async throws {
        let file = try SMSDDatabaseFile(multipartColumns: true)
        defer { file.remove() }
        try file.receive("+79031234567", "b", udh: "")
        try file.receive("+79031234567", "a", udh: "")
        try file.execute("UPDATE inbox SET MessageID = 7, PartCount = 2, SequencePosition = 3 - ID")
        #expect(try await source(file).poll(limit: 10).map(\.text) == ["ab"])
    }

    @Test func foldsRowsRepeatingTheSameSMS() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        try file.receive("+79031234567", "1234567 12345", at: "2026-11-21 08:00:00")
        try file.receive("+79031234567", "1234567 12345", at: "2026-11-21 08:00:00")
        try file.receive("+79031234567", "1234567 12345", at: "2026-11-21 08:05:00")
        let feed = source(file)
        let messages = try await feed.poll(limit: 10)
        #expect(messages.map(\.externalID) == ["gammu:gw:1", "gammu:gw:3"])
        try await feed.acknowledge(messages.map(\.externalID))
        #expect(try file.rows("SELECT COUNT(*) FROM inbox WHERE Processed = 'false'").first?[0] == 0)
        // The same SMS read once more later: marked processed without a new message.
        try file.receive("+79031234567", "1234567 12345", at: "2026-11-21 08:00:00")
        #expect(try await feed.poll(limit: 10).isEmpty)
        #expect(try file.rows("SELECT Processed FROM inbox WHERE ID = 4").first?[0] == "true")
    }

    @Test func aMissingDatabaseFailsThePollWithItsPath() async throws {
        let feed = GammuSMSDSource(name: "gw", database: GammuSMSDDatabase(path: "/nonexistent/smsd.db"))
        await #expect(throws: GammuSMSDError.self) { try await feed.poll(limit: 10) }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/smsd.db"))
    }

    @Test func postgresURLsAreTakenAndMalformedOnesRefused() {
        #expect(GammuSMSDDatabase.validate("postgres://smsd@127.0.0.1/smsd") == nil)
        #expect(GammuSMSDDatabase.validate("postgresql://smsd@127.0.0.1:70000/smsd")?.contains("PostgreSQL") == true)
        #expect(GammuSMSDDatabase.validate("mysql://smsd@127.0.0.1/smsd")?.contains("postgresql://") == true)
        #expect(GammuSMSDDatabase.validate("/var/spool/gammu/smsd.db") == nil)
    }
}

@Suite struct GammuSMSDTransportTests {
    func reply(_ id: Int64, _ to: String, _ body: String) -> OutgoingReply {
        OutgoingReply(id: id, channel: .sms, recipient: to, body: body, createdAt: Date())
    }

    @Test func insertsOneOutboxRowPerReplyWithTheRightCoding() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        let transport = GammuSMSDTransport(name: "gw", database: GammuSMSDDatabase(path: file.path))
        #expect(await transport.deliver(reply(1, "89031234567", "Принято: 12345")) == .delivered)
        #expect(await transport.deliver(reply(2, "+79031234568", "OK 12345")) == .delivered)
        // Handed over again after a crash before the ledger noted it: no second row.
        #expect(await transport.deliver(reply(1, "89031234567", "Принято: 12345")) == .delivered)
        let rows = try file.rows("SELECT DestinationNumber, TextDecoded, Coding, CreatorID, MultiPart FROM outbox ORDER BY ID")
        #expect(rows.count == 2)
        #expect(rows[0][0] == "+79031234567")
        #expect(rows[0][1] == "Принято: 12345")
        #expect(rows[0][2] == "Unicode_No_Compression")
        #expect(rows[1][2] == "Default_No_Compression")
        #expect(rows[0][3] == "metergate")
        #expect(rows[0][4] == "false")
        if case .failed = await transport.deliver(reply(3, "900", "x")) {} else { Issue.record("a short code was accepted") }
    }

    @Test func reportsEachFailureInSentItemsOnce() async throws {
        let file = try SMSDDatabaseFile()
        defer { file.remove() }
        let database = GammuSMSDDatabase(path: file.path)
        let transport = GammuSMSDTransport(name: "gw", database: database)
        #expect(await transport.deliver(reply(10, "+79031234567", "a")) == .delivered)
        #expect(await transport.deliver(reply(11, "+79031234568", "b")) == .delivered)
        try file.execute("""
            INSERT INTO sentitems (ID, DestinationNumber, Status, CreatorID) VALUES
            (1, '+79031234567', 'SendingOKNoReport', 'metergate'), (2, '+79031234568', 'SendingError', 'metergate')
            """)
        let logger = Logger(label: "test")
        let failures = try await database.checkSentItems(logger: logger, force: true)
        #expect(failures.map(\.replyID) == [11])
        #expect(failures.map(\.status) == ["SendingError"])
        #expect(try await database.checkSentItems(logger: logger, force: true).isEmpty)
        #expect(try await GammuSMSDDatabase(path: file.path).checkSentItems(logger: logger, force: true).isEmpty)
    }
}
