import Foundation
import Logging
import MeterCore
import PostgreSQL
import Testing
import TestSupport
@testable import SMSChannels

/// `GammuSMSDPostgres` against a real PostgreSQL server of its own (scripts/peers/postgres-up.sh)
/// holding Gammu's own schema (examples/pgsql.sql): the same semantics as the SQLite database,
/// and claims that keep two instances off each other's rows.
@Suite("Gammu SMSD on PostgreSQL", .serialized, .tags(.peer), Peer.needs(Peer.postgres && Peer.gammu, "PostgreSQL or gammu-smsd"), .timeLimit(.minutes(5)))
struct GammuSMSDPostgresTests {
    static let schema = "/usr/share/doc/gammu-smsd/examples/pgsql.sql"

    struct Database {
        var state: URL
        var url: String
        var password: String
        /// For the test's own statements (inserting as SMSD would, reading back).
        var admin: PostgresConnection

        /// From a `defer`: the server is stopped and its folder removed in the background.
        func remove() {
            Program.peerScriptDetached("postgres-down.sh", [state.path], thenRemove: state)
        }

        func store(_ instance: String) throws -> GammuSMSDPostgres {
            try GammuSMSDPostgres(url, password: password, instance: instance, label: instance)
        }

        func source(_ instance: String, wait: TimeInterval = 60) throws -> GammuSMSDSource {
            GammuSMSDSource(name: "gw", database: try store(instance), multipartWait: wait, timeZone: TimeZone(identifier: "UTC")!)
        }

        /// A row as gammu-smsd's pgsql driver inserts it.
        func receive(_ sender: String, _ text: String, udh: String = "", at time: String = "2026-11-21 08:00:00") async throws {
            try await admin.withSession { session in
                try session.execute("""
                    INSERT INTO inbox ("ReceivingDateTime", "Text", "SenderNumber", "UDH", "TextDecoded", "RecipientID", "Coding")
                    VALUES ($1, '', $2, $3, $4, 'harness', 'Unicode_No_Compression')
                    """, [time, sender, udh, text])
            }
        }

        func rows(_ sql: String) async throws -> PostgresRows {
            try await admin.withSession { session in try session.query(sql) }
        }
    }

    /// A server of its own on a free port, its cluster in a folder of its own, Gammu's schema loaded.
    func start() async throws -> Database {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("gammu-pg-\(UUID().uuidString.prefix(8))")
        let up = try await Program.peerScript("postgres-up.sh", [state.path])
        try #require(up.status == 0, "postgres-up.sh failed: \(up.stderr)")
        let settings = try String(contentsOf: state.appendingPathComponent("postgres.env"), encoding: .utf8)
        var values: [String: String] = [:]
        for line in settings.split(separator: "\n") {
            if let equals = line.firstIndex(of: "=") { values[String(line[..<equals])] = String(line[line.index(after: equals)...]) }
        }
        let password = try String(contentsOf: state.appendingPathComponent("password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let url = values["PG_URL"] ?? ""
        let load = "grep -v '^CREATE LANGUAGE plpgsql;' \(Self.schema) | psql -X -q -v ON_ERROR_STOP=1 "
            + "-h 127.0.0.1 -p \(values["PG_PORT"] ?? "") -U smsd -d smsd >/dev/null"
        let database = Database(
            state: state, url: url, password: password,
            admin: PostgresConnection(url: try PostgresURL(parsing: url), password: password, label: "admin"))
        let loaded = try await Program.shell(load, environment: ["PGPASSWORD": password])
        guard loaded.status == 0 else {
            database.remove()
            throw ProgramError("loading \(Self.schema) failed: \(loaded.stderr)")
        }
        return database
    }

    @Test func pollsJoinsLongMessagesAndMarksProcessedAfterAcknowledge() async throws {
        let database = try await start()
        defer { database.remove() }
        try await database.receive("+79031234567", "1234567 12345")
        try await database.receive("+79031234568", "Показания 7654321: ", udh: "050003A70201")
        try await database.receive("+79031234568", "день 100 ночь 50", udh: "050003A70202")
        try await database.receive("+79031234569", "7654321 200", at: "2026-11-21 09:30:15")
        let feed = try database.source("a")
        let messages = try await feed.poll(limit: 10)
        #expect(messages.map(\.externalID) == ["gammu:gw:1", "gammu:gw:2", "gammu:gw:4"])
        #expect(messages[1].text == "Показания 7654321: день 100 ночь 50")
        #expect(messages[2].receivedAt == Date(timeIntervalSince1970: 1_795_253_415))
        #expect(try await database.rows(#"SELECT count(*) FROM inbox WHERE "Processed""#)[0, 0] == "0")
        try await feed.acknowledge(messages.map(\.externalID))
        #expect(try await database.rows(#"SELECT count(*) FROM inbox WHERE "Processed""#)[0, 0] == "4")
        #expect(try await feed.poll(limit: 10).isEmpty)

        // The same SMS stored twice by SMSD after it was processed: marked at once, not polled.
        try await database.receive("+79031234567", "1234567 12345")
        #expect(try await feed.poll(limit: 10).isEmpty)
        #expect(try await database.rows(#"SELECT "Processed" FROM inbox WHERE "ID" = 5"#)[0, 0] == "t")
    }

    @Test func aClaimedRowIsNotTakenByAnotherInstance() async throws {
        let database = try await start()
        defer { database.remove() }
        for index in 0..<4 { try await database.receive("+7903123456\(index)", "1234567 1234\(index)") }
        let first = try database.source("a"), second = try database.source("b")
        let taken = try await first.poll(limit: 2)
        #expect(taken.map(\.externalID) == ["gammu:gw:1", "gammu:gw:2"])
        // While the first holds its two (not yet acknowledged), the second gets only the rest.
        let rest = try await second.poll(limit: 10)
        #expect(rest.map(\.externalID) == ["gammu:gw:3", "gammu:gw:4"])
        #expect(try await database.source("c").poll(limit: 10).isEmpty)
        try await second.acknowledge(rest.map(\.externalID))
        try await first.acknowledge(taken.map(\.externalID))
        #expect(try await database.rows(#"SELECT count(*) FROM inbox WHERE "Processed""#)[0, 0] == "4")
    }

    @Test func theClaimOfAnInstanceThatDiedGoesBackToTheInbox() async throws {
        let database = try await start()
        defer { database.remove() }
        for index in 0..<3 { try await database.receive("+7903123456\(index)", "1234567 1234\(index)") }
        let dying = try database.source("a")
        let taken = try await dying.poll(limit: 10)
        #expect(taken.count == 3)
        // Its connection ends (the process was killed): the server rolls the claim back.
        let ended = try await database.rows("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()
            """)
        #expect(ended[0, 0] == "1")
        let heir = try database.source("b")
        var recovered: [IncomingMessage] = []
        for _ in 0..<50 where recovered.isEmpty {
            recovered = try await heir.poll(limit: 10)
            if recovered.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered.map(\.externalID) == taken.map(\.externalID))
        try await heir.acknowledge(recovered.map(\.externalID))
        // The dead claim's acknowledgement fails with the lost connection (its ledger keeps the
        // messages; the rows are processed by the heir).
        await #expect {
            try await dying.acknowledge(taken.map(\.externalID))
        } throws: { error in
            (error as? GammuSMSDError)?.postgresError?.isConnectionProblem == true
        }
        #expect(try await database.rows(#"SELECT count(*) FROM inbox WHERE "Processed""#)[0, 0] == "3")
    }

    @Test func repliesOnceEachPerInstanceWithTheirFateFromSentItems() async throws {
        let database = try await start()
        defer { database.remove() }
        func reply(_ id: Int64, _ to: String, _ body: String) -> OutgoingReply {
            OutgoingReply(id: id, channel: .sms, recipient: to, body: body, createdAt: Date())
        }
        let store = try database.store("host:/var/lib/a.sqlite")
        let transport = GammuSMSDTransport(name: "gw", database: store)
        let other = GammuSMSDTransport(name: "gw", database: try database.store("host:/var/lib/b.sqlite"))
        #expect(await transport.deliver(batch: [reply(1, "89031234567", "Принято: 12345"), reply(2, "+79031234568", "OK 12345")])
                == [.delivered, .delivered])
        // Handed over again after a crash before the ledger noted it: no second row.
        #expect(await transport.deliver(reply(1, "89031234567", "Принято: 12345")) == .delivered)
        // Another instance's reply 1 is another reply.
        #expect(await other.deliver(reply(1, "+79031234569", "Принято: 1")) == .delivered)
        let rows = try await database.rows("""
            SELECT "DestinationNumber", "TextDecoded", "Coding", "CreatorID", "MultiPart" FROM outbox ORDER BY "ID"
            """)
        #expect(rows.rows.map { $0[0] } == ["+79031234567", "+79031234568", "+79031234569"])
        #expect(rows[0, 1] == "Принято: 12345" && rows[0, 2] == "Unicode_No_Compression" && rows[1, 2] == "Default_No_Compression")
        #expect(rows[0, 3] == "metergate" && rows[0, 4] == "f")
        if case .failed = await transport.deliver(reply(3, "900", "x")) {} else { Issue.record("a short code was accepted") }

        // SMSD's fate: sent, and failed (moved to sentitems under the outbox ID).
        try await database.admin.withSession { session in
            try session.execute("""
                INSERT INTO sentitems ("ID", "DestinationNumber", "Status", "CreatorID", "Text", "UDH", "SenderID")
                VALUES (1, '+79031234567', 'SendingOKNoReport', 'metergate', '', '', 'harness'),
                       (2, '+79031234568', 'SendingError', 'metergate', '', '', 'harness')
                """)
        }
        let logger = Logger(label: "test")
        let failures = try await store.checkSentItems(logger: logger, force: true)
        #expect(failures.map(\.replyID) == [2] && failures.map(\.status) == ["SendingError"])
        #expect(try await store.checkSentItems(logger: logger, force: true).isEmpty)
        #expect(try await database.store("host:/var/lib/a.sqlite").checkSentItems(logger: logger, force: true).isEmpty)
        let fates = try await database.rows("SELECT instance, reply_id, fate FROM metergate_replies ORDER BY instance, reply_id")
        #expect(fates.rows.map { $0.compactMap { $0 }.joined(separator: " ") } == [
            "host:/var/lib/a.sqlite 1 SendingOKNoReport", "host:/var/lib/a.sqlite 2 SendingError", "host:/var/lib/b.sqlite 1",
        ])
    }

    @Test func pollsOnAfterTheServerRestarted() async throws {
        let database = try await start()
        defer { database.remove() }
        try await database.receive("+79031234567", "1234567 12345")
        let feed = try database.source("a")
        let first = try await feed.poll(limit: 10)
        try await feed.acknowledge(first.map(\.externalID))
        // The server goes away and comes back on the same port (postgres-up.sh keeps it).
        let state = database.state.path
        #expect(try await Program.peerScript("postgres-down.sh", [state, "--keep"]).status == 0)
        #expect(try await Program.peerScript("postgres-up.sh", [state]).status == 0)
        try await database.receive("+79031234568", "7654321 200")
        // The idle connection is found dead at the first statement and opened again: no failed poll.
        let second = try await feed.poll(limit: 10)
        #expect(second.map(\.externalID) == ["gammu:gw:2"])
        try await feed.acknowledge(second.map(\.externalID))
        #expect(try await database.rows(#"SELECT count(*) FROM inbox WHERE "Processed""#)[0, 0] == "2")
    }

    @Test func aServerThatIsDownFailsThePollWithTheDatabaseNamedAndNoPassword() async throws {
        let port = 1 + Int.random(in: 20_000...40_000)
        let store = try GammuSMSDPostgres("postgresql://smsd:hunter2@127.0.0.1:\(port)/smsd?connect_timeout=2", instance: "x")
        let feed = GammuSMSDSource(name: "gw", database: store)
        do {
            _ = try await feed.poll(limit: 10)
            Issue.record("a poll of a server that is down succeeded")
        } catch let error as GammuSMSDError {
            #expect(error.postgresError?.code == .connectionFailed)
            #expect(error.description.contains("127.0.0.1:\(port)") && !error.description.contains("hunter2"), "\(error)")
        }
    }
}
