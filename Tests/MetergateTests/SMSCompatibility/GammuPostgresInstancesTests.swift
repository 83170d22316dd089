import Foundation
import Testing
import TestSupport

/// Two metergate instances polling one PostgreSQL SMSD database at once, each with a ledger of
/// its own (issue 4 gap: "several instances may poll one PostgreSQL SMSD database"): every
/// message must be in exactly one of the two ledgers, both instances must have taken part,
/// every inbox row ends processed, and each sender gets exactly one reply at SMSD.
@Suite("Gammu SMSD on PostgreSQL: two instances", .serialized, .tags(.peer), Peer.needs(Peer.postgres && Peer.gammu, "PostgreSQL or gammu-smsd"), .timeLimit(.minutes(15)))
struct GammuPostgresInstancesTests {
    static let count = 600

    @Test func twoInstancesNeverTakeTheSameMessage() async throws {
        let driver = GammuDriver(pollSeconds: "0", multipartWait: "30s", driver: "pgsql")
        let sandbox = try Sandbox("gammu-pg-instances")
        defer { sandbox.remove() }
        try await withGammuLoad(driver, sandbox: sandbox, count: Self.count, uinBase: 8_100_000, phonePrefix: "+7917", longEvery: 30) {
            feed, messages in
            try await run(driver, sandbox: sandbox, feed: feed, messages: messages)
        }
    }

    func run(_ driver: GammuDriver, sandbox: Sandbox, feed: String, messages: [PhoneMessage]) async throws {
        var configs: [String] = []
        for name in ["a", "b"] {
            let config = try sandbox.write("\(name).yaml", """
                store:
                  path: \(jsonString(sandbox.file("\(name).sqlite").path))
                log:
                  format: text
                  level: warning
                http:
                  listen: 127.0.0.1:0
                sms:
                \(feed.replacingOccurrences(of: "poll_interval: 1s", with: "poll_interval: 100ms"))
                """).path
            let imported = try await Peers.offPool { try sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 120) }
            try #require(imported.status == 0, "\(imported)")
            configs.append(config)
        }

        // A first half waiting in the inbox, the second half arriving while both poll.
        try await driver.deliver(Array(messages[..<(Self.count / 2)]))
        let count = Self.count
        let paths = configs
        let daemons = try await Peers.offPool { try paths.map { try Daemon(["run", "--config", $0], in: sandbox.url) } }
        defer { for daemon in daemons { daemon.cleanUp() } }
        try await driver.deliver(Array(messages[(Self.count / 2)...]))
        let (finished, statuses, logs) = try await Peers.offPool { () -> (Bool, [Int32?], [String]) in
            let finished = waitUntilBlocking(timeout: 360) {
                ((try? driver.count(#"SELECT COUNT(*) FROM inbox WHERE "Processed" = 'false'"#)) ?? 1) == 0
                    && ((try? driver.count("SELECT COUNT(*) FROM metergate_replies")) ?? 0) >= count
            }
            usleep(1_500_000)  // a message taken twice, or a reply handed over twice, would show up now
            return (finished, daemons.map { $0.terminate(timeout: 30) }, daemons.map(\.stderr))
        }
        #expect(finished, "not finished in 360 s: \(logs.map { $0.suffix(1500) })")
        #expect(statuses == [0, 0], "metergate run: \(logs.map { $0.suffix(1500) })")

        // Each message in exactly one ledger; both instances took part.
        var perInstance: [[String]] = []
        for name in ["a", "b"] {
            let ledger = try await Peers.offPool {
                try Peers.run("sqlite3", ["-cmd", ".timeout 10000", sandbox.file("\(name).sqlite").path, "SELECT external_id || ' ' || sender FROM message"])
            }
            try #require(ledger.status == 0, "\(ledger.stderr)")
            perInstance.append(ledger.stdout.split(separator: "\n").map(String.init))
        }
        let union = perInstance[0] + perInstance[1]
        #expect(union.count == Self.count, "\(perInstance[0].count) + \(perInstance[1].count) messages recorded for \(Self.count)")
        #expect(Set(union).count == union.count, "a message is in both ledgers: \(Set(perInstance[0]).intersection(perInstance[1]).prefix(5))")
        #expect(Set(union.map { $0.split(separator: " ").last.map(String.init) ?? "" }).count == Self.count)
        #expect(perInstance[0].count > 0 && perInstance[1].count > 0,
                "one instance took everything: \(perInstance[0].count) / \(perInstance[1].count)")

        // Each sender answered once, by whichever instance took its message.
        let perSender = try await Peers.offPool { try driver.query("""
            SELECT "DestinationNumber" AS number, COUNT(*) AS replies FROM (
                SELECT "ID", "DestinationNumber" FROM outbox WHERE "CreatorID" = 'metergate'
                UNION SELECT "ID", "DestinationNumber" FROM sentitems WHERE "CreatorID" = 'metergate'
            ) AS handed GROUP BY "DestinationNumber"
            """).map { $0.mapValues { "\($0)" } } }
        #expect(perSender.count == Self.count, "\(perSender.count) senders answered of \(Self.count)")
        #expect(perSender.filter { $0["replies"] != "1" }.isEmpty, "answered more than once: \(perSender.filter { $0["replies"] != "1" }.prefix(5))")
        let instances = try await Peers.offPool { try driver.count("SELECT COUNT(DISTINCT instance) FROM metergate_replies") }
        #expect(instances == 2)
        #expect(try await Peers.offPool { try driver.count(#"SELECT COUNT(*) FROM inbox WHERE "Processed" <> 'true'"#) } == 0)
        print("gammu-postgres two instances: \(perInstance[0].count) + \(perInstance[1].count) messages, \(perSender.count) senders answered once")
    }
}
