import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 16's acceptance test: three `metergate run` instances on one PostgreSQL store share one
/// Dovecot mailbox and one Gammu SMSD database on PostgreSQL (gammu-smsd itself running, with
/// its dummy phone). Every 2–5 s one instance, at random, is SIGKILLed and started again, at
/// least 15 times. At the end every mail and every SMS is recorded exactly once, every reply is
/// handed over exactly once (e-mail: a reply a kill left in doubt is held, never sent twice), and
/// no feed was without a holder for more than two of its poll intervals.
///
/// The full size (5,000 mails and 5,000 SMS) runs with `METERGATE_FULL_SIZE=1`; the ordinary
/// suite uses 300 of each (`METERGATE_SHARED_MAILS`, `METERGATE_SHARED_SMS` override).
@Suite("Shared PostgreSQL store: a mailbox and a Gammu SMSD database, three instances", .serialized, .tags(.peer),
       Peer.needs(Peer.mail && Peer.postgres && Peer.gammu, "Dovecot, python3-aiosmtpd, PostgreSQL or gammu-smsd"))
struct SharedStoreMailAndSMSTests {
    static let environment = ProcessInfo.processInfo.environment
    static var fullSize: Bool { environment["METERGATE_FULL_SIZE"] == "1" }

    /// The poll intervals: the mailbox's and the SMSD database's.
    static let mailInterval = 2.0
    static let smsInterval = 1.0

    @Test(.timeLimit(.minutes(60)))
    func threeInstancesKilledAtRandom() async throws {
        let mails = Int(Self.environment["METERGATE_SHARED_MAILS"] ?? "") ?? (Self.fullSize ? 5000 : 300)
        let texts = Int(Self.environment["METERGATE_SHARED_SMS"] ?? "") ?? (Self.fullSize ? 5000 : 300)
        let kills = max(15, Int(Self.environment["METERGATE_SHARED_KILLS"] ?? "") ?? 15)
        let gammu = GammuDriver(pollSeconds: "0", multipartWait: "30s", driver: "pgsql")
        if let reason = gammu.unavailableReason() {
            if Peers.required { Issue.record("gammu-postgres: \(reason)") } else { print("skipped: \(reason)") }
            return
        }
        let peers = try await MailPeers.start("full")
        defer { peers.stop() }
        let postgres = try await SharedPostgres.start("full")
        defer { postgres.stop() }
        let sandbox = try Sandbox("shared-full")
        defer { sandbox.remove() }
        let state = sandbox.file("gammu")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let smsFeed = try await gammu.start(state: state)
        do {
            try await run(gammu, smsFeed: smsFeed, peers: peers, postgres: postgres, sandbox: sandbox, mails: mails, texts: texts, kills: kills)
        } catch {
            await gammu.stop()
            throw error
        }
        await gammu.stop()
    }

    func run(
        _ gammu: GammuDriver, smsFeed: String, peers: MailPeers, postgres: SharedPostgres, sandbox: Sandbox, mails: Int, texts: Int,
        kills: Int
    ) async throws {
        // Accounts: the mail fixture's, and one per SMS sender (every 25th SMS long, in two parts).
        var accounts = try Fixture.text("accounts.csv")
        if !accounts.hasSuffix("\n") { accounts += "\n" }
        var messages: [PhoneMessage] = []
        for index in 0..<texts {
            let uin = String(8_200_000 + index)
            accounts += "\(uin),T1,100,,,\n"
            let from = "+7916" + String(format: "%07d", index)
            messages.append(index % 25 == 0
                ? PhoneMessage(from: from, text: "Добрый день, показания по лицевому счёту \(uin): 150, спасибо", parts: 2)
                : PhoneMessage(from: from, text: "\(uin) \(150 + index % 50)"))
        }
        _ = try sandbox.write("accounts.csv", accounts)
        let config = try sandbox.write("config-full.yaml", """
            store:
              url: \(postgres.url)?target_session_attrs=read-write
              password_file: \(jsonString(postgres.passwordFile))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
            mailboxes:
              - name: readings
                url: imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/INBOX
                username: readings@example.test
                password: secret
                after: delete
                poll_interval: 2s
            sms:
            \(smsFeed)
            smtp:
              url: smtp://127.0.0.1:\(peers.port("SMTP_SINK_PORT"))
              from: "Показания <readings@example.test>"
            log:
              format: json
              personal_data: true

            """).path
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 300)
        try #require(imported.status == 0, "\(imported.stderr)")

        // Everything waits before the instances start: the mails in the mailbox, the SMS in SMSD's inbox.
        try await peers.generate(mails, user: "readings@example.test")
        try await gammu.deliver(messages)

        let intervals = ["readings": Self.mailInterval, "gammu": Self.smsInterval]
        let outcome = try await Self.killAtRandom(config: config, sandbox: sandbox, postgres: postgres, kills: kills, intervals: intervals,
                                  mails: mails, texts: texts)
        #expect(outcome.kills >= 15)
        #expect(!outcome.takeovers.isEmpty, "no kill hit a feed's holder")
        // Two poll intervals, and a little for this loaded machine's psql probe.
        let late = outcome.takeovers.filter { $0.seconds > intervals[$0.feed, default: 1] * 2 + 0.5 }
        #expect(late.isEmpty, "feeds taken over late: \(late)")
        #expect(outcome.finished, "not finished: \(outcome.counts)")

        // Every message recorded exactly once.
        let recorded = try await postgres.psql("""
            SELECT (SELECT COUNT(*) FROM message WHERE channel = 'email') || ' ' || (SELECT COUNT(*) FROM message WHERE channel = 'sms')
                || ' ' || (SELECT COUNT(DISTINCT sender) FROM message WHERE channel = 'sms')
            """)
        #expect(recorded == "\(mails) \(texts) \(texts)", "e-mail, SMS, SMS senders recorded: \(recorded)")
        let status = try await sandbox.run(["status", "--config", config])
        #expect(status.stdoutText.contains("instances:") && status.stdoutText.contains("gw1: stopped"), "\(status.stdoutText)")

        // E-mail: every mail answered once; a reply left in doubt by a kill is held, not sent twice.
        let replies = try peers.received()
        let inReplyTo = replies.compactMap { mailHeaders($0.raw)["in-reply-to"] }
        let distinct = Set(inReplyTo)
        let sentIDs = Set(replies.compactMap { reply in
            mailHeaders(reply.raw)["message-id"].flatMap { $0.split(separator: ".").dropFirst().first.flatMap { Int($0) } }
        })
        #expect(replies.count == distinct.count, "\(replies.count - distinct.count) repeated e-mail replies after \(outcome.kills) kills")
        let lost = outcome.held.subtracting(sentIDs)
        #expect(distinct.count == mails - lost.count,
                "\(distinct.count) distinct replies for \(mails) mails; \(outcome.held.count) held in doubt, \(lost.count) of them not at the server")

        // SMS: every sender's reply handed to SMSD exactly once; every inbox row processed.
        let perSender = try await Peers.offPool { try gammu.query("""
            SELECT "DestinationNumber" AS number, COUNT(*) AS replies FROM (
                SELECT "ID", "DestinationNumber" FROM outbox WHERE "CreatorID" = 'metergate'
                UNION SELECT "ID", "DestinationNumber" FROM sentitems WHERE "CreatorID" = 'metergate'
            ) AS handed GROUP BY "DestinationNumber"
            """).map { $0.mapValues { "\($0)" } } }
        let twice = perSender.filter { $0["replies"] != "1" }
        #expect(perSender.count == texts, "\(perSender.count) SMS senders answered of \(texts)")
        #expect(twice.isEmpty, "SMS senders answered more than once: \(twice.prefix(5))")
        let unprocessed = try await Peers.offPool { try gammu.count(#"SELECT COUNT(*) FROM inbox WHERE "Processed" <> 'true'"#) }
        #expect(unprocessed == 0)
        print("""
            shared store, three instances: \(mails) mails and \(texts) SMS, \(outcome.kills) kills in \(Int(outcome.killSeconds)) s, \
            finished \(Int(outcome.finishSeconds)) s after the last; takeovers \(outcome.takeovers.map { "\($0.feed) \(String(format: "%.1f", $0.seconds)) s" }); \
            longest stretch without an unexpired lease: \(outcome.longestGap.map { "\($0.key) \(String(format: "%.1f", $0.value)) s" }.sorted()); \
            \(replies.count) e-mail replies, \(outcome.held.count) held in doubt (\(lost.count) not at the server); \(perSender.count) SMS senders answered once
            """)
    }

    struct KillOutcome: Sendable {
        var kills = 0
        var killSeconds = 0.0
        var finishSeconds = 0.0
        var takeovers: [(feed: String, seconds: Double)] = []
        var held: Set<Int> = []
        var finished = false
        var counts = ""
        var longestGap: [String: Double] = [:]
    }

    /// The feeds' holders now (unexpired leases, by the server's clock).
    static func holders(_ postgres: SharedPostgres) async -> [String: String]? {
        guard let text = try? await postgres.psql(
            "SELECT feed || '=' || instance FROM feed_lease WHERE expires_at >= extract(epoch FROM clock_timestamp())") else { return nil }
        var holders: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { holders[parts[0]] = parts[1] }
        }
        return holders
    }

    /// Starts gw1–gw3, kills one at random every 2–5 s (`kills` times; a feed holder's
    /// restart waits until its feeds were taken over), then waits for the work to finish and
    /// stops them with SIGTERM. A thread meanwhile samples the leases for stretches without any.
    static func killAtRandom(
        config: String, sandbox: Sandbox, postgres: SharedPostgres, kills: Int, intervals: [String: Double], mails: Int, texts: Int
    ) async throws -> KillOutcome {
        var outcome = KillOutcome()
        let names = ["gw1", "gw2", "gw3"]
        var daemons: [String: Daemon] = [:]
        func start(_ name: String) throws {
            daemons[name] = try Daemon(["run", "--config", config], in: sandbox.url, environment: ["METERGATE_INSTANCE_NAME": name])
        }
        func reap(_ name: String) {
            guard let daemon = daemons[name] else { return }
            outcome.held.formUnion(MailAcceptanceTests.repliesHeldInDoubt(daemon.stderr))
            daemon.cleanUp()
            daemons[name] = nil
        }
        defer { for name in names { reap(name) } }

        // The sampler: the longest stretch each feed had no unexpired lease, once first taken.
        let sampling = LockedBox(true)
        let gaps = LockedBox<[String: Double]>([:])
        let sampler = Task {
            var lastHeld: [String: Date] = [:]
            while sampling.get(), !Task.isCancelled {
                if let now = await holders(postgres) {
                    let at = Date()
                    for feed in intervals.keys {
                        if now[feed] != nil {
                            if let last = lastHeld[feed] {
                                let gap = at.timeIntervalSince(last)
                                gaps.update { $0[feed] = max($0[feed] ?? 0, gap) }
                            }
                            lastHeld[feed] = at
                        }
                    }
                }
                await pause(0.3)
            }
        }
        for name in names { try start(name) }
        defer { sampling.set(false) }

        var generator = SystemRandomNumberGenerator()
        var restartLater: String?
        let began = Date()
        while outcome.kills < kills {
            await pause(Double.random(in: 2...5, using: &generator))
            if let name = restartLater {
                try start(name)
                restartLater = nil
            }
            let victim = names.randomElement(using: &generator)!
            let before = await holders(postgres) ?? [:]
            guard let daemon = daemons[victim] else { continue }
            kill(daemon.process.processIdentifier, SIGKILL)
            while daemon.process.isRunning { await pause(0.01) }
            let killedAt = Date()
            outcome.kills += 1
            reap(victim)
            let held = before.filter { $0.value == victim }.map(\.key)
            guard !held.isEmpty else {
                try start(victim)
                continue
            }
            // The holder died: another instance polls each of its feeds within two poll intervals.
            var pending = Set(held)
            let longest = held.map { intervals[$0, default: 1] }.max() ?? 1
            while !pending.isEmpty, Date().timeIntervalSince(killedAt) < longest * 4 {
                if let now = await holders(postgres) {
                    for feed in pending {
                        if let holder = now[feed], holder != victim {
                            outcome.takeovers.append((feed, Date().timeIntervalSince(killedAt)))
                            pending.remove(feed)
                        }
                    }
                }
                await pause(0.1)
            }
            for feed in pending { outcome.takeovers.append((feed, .infinity)) }
            restartLater = victim
        }
        if let name = restartLater { try start(name) }
        outcome.killSeconds = Date().timeIntervalSince(began)

        // Let them finish: every message recorded, the outbox drained.
        let expected = "\(mails) \(texts) 0"
        let query = """
            SELECT (SELECT COUNT(*) FROM message WHERE channel = 'email') || ' ' || (SELECT COUNT(*) FROM message WHERE channel = 'sms')
                || ' ' || (SELECT COUNT(*) FROM outbox WHERE state = 'pending')
            """
        let finishing = Date()
        outcome.finished = await waitUntil(timeout: fullSize ? 1800 : 420) { (try? await postgres.psql(query)) == expected }
        outcome.finishSeconds = Date().timeIntervalSince(finishing)
        let counts = (try? await postgres.psql(query)) ?? "?"
        outcome.counts = "e-mail, SMS, pending replies: \(counts) (expected \(expected))"
        sampling.set(false)
        _ = await sampler.value
        outcome.longestGap = gaps.get()
        // A SIGTERM before an instance's service group runs would end it by the signal's default
        // action (shown alive, not stopped): stop the ones the last kill restarted once they run.
        for name in names {
            guard let daemon = daemons[name] else { continue }
            _ = await waitUntil(timeout: 30) { daemon.stderr.contains("metergate started") }
        }
        await pause(1)
        for name in names { _ = await daemons[name]?.terminate(timeout: 30) }
        for name in names { reap(name) }
        return outcome
    }
}
