import Foundation
import Testing
import TestSupport

/// `run --once` on a shared store is an instance like the daemon's: it polls only the feeds it
/// can take. A feed another live instance holds is left to that instance (polled twice, a
/// mailbox's or an SMSD database's rows would be fetched by two instances at once).
@Suite("Shared PostgreSQL store: run --once and feed leases", .serialized, .tags(.peer), Peer.needs(Peer.postgres, "PostgreSQL"))
struct SharedStoreRunOnceTests {
    @Test(.timeLimit(.minutes(5)))
    func runOnceLeavesAFeedAnotherInstanceHolds() async throws {
        let postgres = try await SharedPostgres.start("once")
        defer { postgres.stop() }
        let sandbox = try Sandbox("shared-once")
        defer { sandbox.remove() }
        for folder in ["inbox", "processed", "outbox"] {
            try FileManager.default.createDirectory(at: sandbox.file(folder), withIntermediateDirectories: true)
        }
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let config = try sandbox.write("config.yaml", """
            store:
              url: \(postgres.url)
              password_file: \(jsonString(postgres.passwordFile))
            policy:
              submission_days: "1-31"
            mailboxes: []
            sms:
              - name: files
                kind: files
                inbox: \(jsonString(sandbox.file("inbox").path))
                processed: \(jsonString(sandbox.file("processed").path))
                poll_interval: 1s
            outbox:
              path: \(jsonString(sandbox.file("outbox").path))
            log:
              format: json

            """).path
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 60)
        try #require(imported.status == 0, "\(imported)")
        try sandbox.write("inbox/IN20261120_101500_00_+79031234567_00.txt", "1234567 12100 6050")

        // Another instance, alive, holds the feed for the next hour.
        _ = try await postgres.psql("""
            INSERT INTO instance (name, host, pid, started_at, heartbeat_at)
            VALUES ('other', 'elsewhere', 1, extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp()));
            INSERT INTO feed_lease (feed, instance, expires_at, taken_at, duration)
            VALUES ('files', 'other', extract(epoch FROM clock_timestamp()) + 3600, extract(epoch FROM clock_timestamp()), 3600)
            """)
        let skipped = try await sandbox.run(["run", "--once", "--config", config], environment: ["METERGATE_INSTANCE_NAME": "gw2"], timeout: 60)
        #expect(skipped.status == 0, "\(skipped)")
        #expect(skipped.stderr.contains("feed-skipped"), "\(skipped.stderr)")
        #expect(try await postgres.psql("SELECT COUNT(*) FROM message") == "0", "run --once polled a feed another instance holds")
        #expect(try await postgres.psql("SELECT instance FROM feed_lease WHERE feed = 'files'") == "other")
        #expect(FileManager.default.fileExists(atPath: sandbox.file("inbox/IN20261120_101500_00_+79031234567_00.txt").path))

        // The holder gone (its lease released): run --once takes the feed, and gives it back when done.
        _ = try await postgres.psql("DELETE FROM feed_lease; UPDATE instance SET stopped_at = heartbeat_at WHERE name = 'other'")
        let taken = try await sandbox.run(["run", "--once", "--config", config], environment: ["METERGATE_INSTANCE_NAME": "gw2"], timeout: 60)
        #expect(taken.status == 0, "\(taken)")
        #expect(taken.stderr.contains("feed-taken") && !taken.stderr.contains("feed-skipped"), "\(taken.stderr)")
        #expect(try await postgres.psql("SELECT COUNT(*) || ' ' || MIN(instance) FROM message") == "1 gw2")
        #expect(try await postgres.psql("SELECT COUNT(*) FROM feed_lease") == "0", "the lease outlived run --once")
        let replies = try FileManager.default.contentsOfDirectory(atPath: sandbox.file("outbox").path).filter { $0.hasSuffix(".txt") }
        #expect(replies.count == 1, "\(replies)")
    }
}
