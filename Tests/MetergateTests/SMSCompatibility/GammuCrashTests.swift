import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Crash safety against the real gammu-smsd (issue 4 acceptance): 2,000 SMS (some in two
/// UDH parts) reach SMSD's inbox, half before and half while `metergate run` is SIGKILLed
/// at random moments a dozen times; then one full run. Every message must be in the ledger
/// once, every inbox row marked processed, and exactly one reply row handed to SMSD per
/// sender (in `outbox` or already in `sentitems`). Once with SMSD's SQLite database, once with
/// PostgreSQL (`native_pgsql`).
@Suite("Gammu SMSD crash safety", .serialized, .tags(.peer), .timeLimit(.minutes(15)),
       Peer.needs(Peer.gammu && Peer.sqlite3 && Peer.postgres, "gammu-smsd, libdbd-sqlite3, sqlite3 or PostgreSQL"))
struct GammuCrashTests {
    static let count = 2000
    static let kills = 12

    @Test(arguments: ["sqlite3", "pgsql"])
    func sigkillAtRandomMomentsLosesNothingAndAnswersOnce(database: String) async throws {
        let driver = GammuDriver(pollSeconds: "0", multipartWait: "30s", driver: database)
        let sandbox = try Sandbox("gammu-crash-\(database)")
        defer { sandbox.remove() }
        try await withGammuLoad(driver, sandbox: sandbox, count: Self.count, uinBase: 8_000_000, phonePrefix: "+7916", longEvery: 40) {
            feed, messages in
            try await crashAndRecover(driver, sandbox: sandbox, feed: feed, messages: messages)
        }
    }

    func crashAndRecover(_ driver: GammuDriver, sandbox: Sandbox, feed: String, messages: [PhoneMessage]) async throws {
        let store = sandbox.file("store.sqlite").path
        let config = try sandbox.write("config.yaml", """
            store:
              path: \(jsonString(store))
            log:
              format: text
              level: warning
            sms:
            \(feed.replacingOccurrences(of: "poll_interval: 1s", with: "poll_interval: 200ms"))
            """).path
        let imported = try await Peers.offPool { try sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 120) }
        try #require(imported.status == 0, "\(imported)")

        try await driver.deliver(Array(messages[..<(Self.count / 2)]))
        var rounds = try await Peers.offPool { try Self.killRounds(Self.kills / 2, config: config, sandbox: sandbox) }
        try await driver.deliver(Array(messages[(Self.count / 2)...]))
        rounds += try await Peers.offPool { try Self.killRounds(Self.kills - Self.kills / 2, config: config, sandbox: sandbox) }
        let killed = rounds.filter(\.killed).count
        #expect(killed >= 10, "only \(killed) SIGKILLs landed")
        for round in rounds where !round.killed && round.status != 0 {
            Issue.record("metergate exited by itself (\(round.status)): \(round.stderr.suffix(1000))")
        }

        // The full run: until SMSD's inbox is all processed and every reply handed over.
        let count = Self.count
        let (finished, status, stderr) = try await Peers.offPool { () -> (Bool, Int32?, String) in
            let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
            defer { daemon.cleanUp() }
            let finished = waitUntilBlocking(timeout: 240) {
                ((try? driver.count(#"SELECT COUNT(*) FROM inbox WHERE "Processed" = 'false'"#)) ?? 1) == 0
                    && ((try? driver.count("SELECT COUNT(*) FROM metergate_replies")) ?? 0) >= count
            }
            usleep(1_500_000)  // a reply handed over twice would show up now
            return (finished, daemon.terminate(timeout: 30), daemon.stderr)
        }
        #expect(status == 0, "metergate run: \(stderr.suffix(2000))")
        #expect(finished, "not finished in 240 s: \(stderr.suffix(2000))")

        // Recorded once: one message per sender, each message once.
        let ledger = try await Peers.offPool { try Peers.run("sqlite3", ["-cmd", ".timeout 10000", store, """
            SELECT COUNT(*), COUNT(DISTINCT external_id), COUNT(DISTINCT sender) FROM message;
            SELECT COUNT(*) FROM outbox WHERE state = 'sent';
            SELECT COUNT(*) FROM (SELECT sender FROM message GROUP BY sender HAVING COUNT(*) > 1);
            """]) }
        let figures = ledger.stdout.split(whereSeparator: { $0 == "\n" || $0 == "|" }).map { Int($0) ?? -1 }
        #expect(figures == [Self.count, Self.count, Self.count, Self.count, 0], "ledger: \(ledger.stdout) \(ledger.stderr)")

        // Answered once: one reply row per sender at the peer (outbox + sentitems).
        let perSender = try await Peers.offPool { try driver.query("""
            SELECT "DestinationNumber" AS number, COUNT(*) AS replies FROM (
                SELECT "ID", "DestinationNumber" FROM outbox WHERE "CreatorID" = 'metergate'
                UNION SELECT "ID", "DestinationNumber" FROM sentitems WHERE "CreatorID" = 'metergate'
            ) AS handed GROUP BY "DestinationNumber"
            """).map { $0.mapValues { "\($0)" } } }
        #expect(perSender.count == Self.count, "\(perSender.count) senders answered of \(Self.count)")
        let twice = perSender.filter { $0["replies"] != "1" }
        #expect(twice.isEmpty, "answered more than once: \(twice.prefix(5))")
        #expect(try await Peers.offPool { try driver.count(#"SELECT COUNT(*) FROM inbox WHERE "Processed" <> 'true'"#) } == 0)
        print("\(driver.kind) crash test: \(killed) SIGKILLs, \(figures.first ?? 0) messages recorded, \(perSender.count) senders answered once")
    }

    struct Round: Sendable {
        var killed: Bool
        var status: Int32
        var stderr: String
    }

    /// `metergate run`, SIGKILLed after a random 0.15–1.5 s, `rounds` times.
    static func killRounds(_ rounds: Int, config: String, sandbox: Sandbox) throws -> [Round] {
        var generator = SystemRandomNumberGenerator()
        var result: [Round] = []
        for _ in 0..<rounds {
            let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
            usleep(UInt32.random(in: 150_000...1_500_000, using: &generator))
            let killed = daemon.isRunning
            if killed { kill(daemon.process.processIdentifier, SIGKILL) }
            daemon.process.waitUntilExit()
            result.append(Round(killed: killed, status: daemon.process.terminationStatus, stderr: daemon.stderr))
            daemon.cleanUp()
        }
        return result
    }
}
