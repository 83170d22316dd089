import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The daemon as operators run it: feed down and up, /healthz, /metrics against the ledger,
/// SIGHUP reload, SIGTERM during a burst, the loop guard and the sender limit.
@Suite("operations", .serialized)
struct OperationsTests {
    /// A Gammu "files" inbox name: the sender's number and a unique sequence.
    static func smsName(_ number: String, _ sequence: Int) -> String {
        let seconds = sequence % 60, minutes = (sequence / 60) % 60
        return String(format: "IN20261120_08%02d%02d_%02d_%@_00.txt", minutes, seconds, sequence % 100, number)
    }

    /// Writes an SMS file whole, dated 10 s back (Gammu's settle interval is over).
    static func dropSMS(_ text: String, from number: String, sequence: Int, inbox: URL) throws {
        let target = inbox.appendingPathComponent(smsName(number, sequence))
        let staged = inbox.deletingLastPathComponent().appendingPathComponent(".staged-\(sequence)")
        try Data(text.utf8).write(to: staged)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-10)], ofItemAtPath: staged.path)
        try FileManager.default.moveItem(at: staged, to: target)
    }

    static func files(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }
    }

    static func lines(_ text: String, containing needle: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(needle) }
    }

    /// The port from the "http: /metrics and /healthz on 127.0.0.1:PORT" line.
    static func port(_ daemon: Daemon) -> Int? {
        guard let line = lines(daemon.stderr, containing: "/metrics and /healthz on 127.0.0.1:").first,
              let colon = line.lastIndex(of: ":") else { return nil }
        return Int(line[line.index(after: colon)...].prefix { $0.isNumber })
    }

    /// `today: accepted 3, held 0, …` from `status`, as a dictionary.
    static func todayCounts(_ sandbox: Sandbox, config: String) async throws -> [String: Int] {
        let status = try await sandbox.run(["status", "--config", config], timeout: 30)
        guard status.status == 0, let line = status.stdoutLines.first(where: { $0.hasPrefix("today: ") }) else {
            throw HarnessError(description: "status failed: \(status)")
        }
        var counts: [String: Int] = [:]
        for part in line.dropFirst("today: ".count).split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count == 2, let count = Int(words[1]) { counts[String(words[0])] = count }
        }
        return counts
    }

    struct Setup {
        let sandbox: Sandbox
        let config: String
        let inbox: URL
        let processed: URL
        let outbox: URL
    }

    static func setup(_ label: String, extra: String = "", policy: String = "") async throws -> Setup {
        let sandbox = try Sandbox(label)
        let inbox = sandbox.file("sms/inbox"), processed = sandbox.file("sms/processed"), outbox = sandbox.file("outbox")
        let config = try sandbox.writeConfig(extra: """
            sms:
              - name: gateway
                kind: files
                inbox: \(jsonString(inbox.path))
                processed: \(jsonString(processed.path))
                poll_interval: 1s
            outbox:
              path: \(jsonString(outbox.path))
            http:
              listen: 127.0.0.1:0
              unhealthy_after_failed_polls: 2

            """ + extra)
        // The harness config has its own `sms: []` and policy; ours come later in the file,
        // so rewrite the file without the earlier duplicates.
        var text = try sandbox.read("config.yaml")
        text = text.replacingOccurrences(of: "sms: []\n", with: "")
        if !policy.isEmpty {
            text = text.replacingOccurrences(of: "  max_messages_per_sender_per_hour: 20\n", with: policy)
        }
        try sandbox.write("config.yaml", text)
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 30)
        guard imported.status == 0 else { throw HarnessError(description: "accounts import failed: \(imported)") }
        return Setup(sandbox: sandbox, config: config, inbox: inbox, processed: processed, outbox: outbox)
    }

    @Test("feed down then up: one down line, backoff, one up line; /healthz 503 then 200; /metrics parses and matches the ledger")
    func feedDownThenUp() async throws {
        let setup = try await Self.setup("feed-down")
        defer { setup.sandbox.remove() }
        // The inbox is a plain file: every poll fails until it becomes a folder.
        try FileManager.default.createDirectory(at: setup.inbox.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not a folder".utf8).write(to: setup.inbox)

        let started = ContinuousClock.now
        let daemon = try Daemon(["run", "--config", setup.config], in: setup.sandbox.url)
        defer { daemon.cleanUp() }
        try #require(await waitUntil(timeout: 20) { Self.port(daemon) != nil }, "no http line: \(daemon.stderr)")
        let port = try #require(Self.port(daemon))
        let unhealthy = await waitUntil(timeout: 20) { await LocalHTTP.get(port: port, path: "/healthz")?.status == 503 }
        let health = await LocalHTTP.get(port: port, path: "/healthz")
        #expect(unhealthy, "healthz while the feed is down: \(String(describing: health)); \(daemon.stderr)")
        #expect(health?.body.contains("feed gateway") == true, "the reason names the feed: \(String(describing: health))")
        #expect(health?.body.split(separator: "\n").count == 1, "one line: \(String(describing: health))")

        // Down for 8 s or more with a 1 s interval. Polls with the doubling backoff start at
        // 0, 2, 6, 14, 30 s (2^k - 2), so by T seconds after the start there were at most
        // floor(log2(T + 2)) of them; without backoff there would be about T. The bound is taken
        // from the time that really passed (the status command is timed from before the daemon
        // started, so it is an upper bound): on a loaded machine these steps take seconds each.
        await pause(8)
        let status = try await setup.sandbox.run(["status", "--config", setup.config], timeout: 30)
        let metricsDown = try PrometheusText.parse(try #require(await LocalHTTP.get(port: port, path: "/metrics")).body)
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let failing = status.stdoutLines.first { $0.contains("gateway:") } ?? ""
        let inARow = failing.range(of: #"\(([0-9]+) in a row\)"#, options: .regularExpression)
            .flatMap { Int(failing[$0].dropFirst().prefix { $0.isNumber }) } ?? 0
        let bound = Int(log2(elapsed + 2))
        #expect(inARow >= 2 && inARow <= bound,
                "bounded exponential backoff: \(inARow) failed polls in \(elapsed) s (at most \(bound)): \(status.stdoutText)")
        #expect(Double(inARow) < elapsed - 2, "without backoff there would be one poll a second: \(inARow) in \(elapsed) s")
        #expect(metricsDown.total("metergate_feed_up", ["feed": "gateway"]) == 0)
        // /metrics was read just after `status`: a poll may have failed in between, never more than one.
        let errors = metricsDown.total("metergate_feed_errors_total", ["feed": "gateway"])
        #expect(errors >= Double(inARow) && errors <= Double(bound), "\(metricsDown)")

        // Back: the folder, three messages in it.
        try FileManager.default.removeItem(at: setup.inbox)
        try FileManager.default.createDirectory(at: setup.inbox, withIntermediateDirectories: true)
        try Self.dropSMS("7654321 700", from: "+79811567352", sequence: 1, inbox: setup.inbox)
        try Self.dropSMS("1234567 12500 6100", from: "+79031234567", sequence: 2, inbox: setup.inbox)
        try Self.dropSMS("hello", from: "+79035550000", sequence: 3, inbox: setup.inbox)
        let up = await waitUntil(timeout: 40) { Self.files(setup.processed).count == 3 && Self.files(setup.outbox).count == 3 }
        #expect(up, "messages processed after the feed came back: \(daemon.stderr)")
        #expect(await waitUntil(timeout: 10) { await LocalHTTP.get(port: port, path: "/healthz")?.status == 200 }, "healthy again: \(daemon.stderr)")

        let log = daemon.stderr
        #expect(Self.lines(log, containing: "feed gateway down").count == 1, "one down line: \(log)")
        #expect(Self.lines(log, containing: "feed gateway up").count == 1, "one up line: \(log)")
        let outcomes = Self.lines(log, containing: " sms gateway ")
        #expect(outcomes.count == 3, "one line per message: \(log)")
        #expect(outcomes.contains { $0.contains("uin=1234567 accepted T1=12500 T2=6100 reply=queued") }, "\(outcomes)")
        for number in ["79811567352", "79031234567", "79035550000"] {
            #expect(!log.contains(number), "phone numbers are masked in the log: \(log)")
        }

        let body = try #require(await LocalHTTP.get(port: port, path: "/metrics")).body
        let samples: [PrometheusText.Sample]
        do { samples = try PrometheusText.parse(body) } catch {
            Issue.record("/metrics is not valid Prometheus text: \(error)\n\(body)")
            return
        }
        let ledger = try await Self.todayCounts(setup.sandbox, config: setup.config)
        #expect(ledger["accepted"] == 2 && ledger["rejected"] == 1, "\(ledger)")
        for outcome in ["accepted", "held", "duplicate", "rejected", "ignored"] {
            #expect(samples.total("metergate_messages_total", ["outcome": outcome]) == Double(ledger[outcome] ?? -1),
                    "metergate_messages_total{outcome=\"\(outcome)\"} against the ledger \(ledger)")
        }
        #expect(samples.total("metergate_feed_up", ["feed": "gateway"]) == 1)
        #expect(samples.total("metergate_replies_delivered_total") == 3)
        #expect(samples.total("metergate_parse_duration_seconds_count") == 3)
        #expect(samples.total("metergate_processing_duration_seconds_count") == 3)
        #expect(samples.total("metergate_limit_sender_messages_per_hour") == 20)
        #expect(samples.total("metergate_outbox_pending") == 0)
        #expect(samples.has("metergate_outbox_oldest_due_age_seconds"))
        let lastSuccess = samples.total("metergate_feed_last_success_timestamp_seconds", ["feed": "gateway"])
        #expect(abs(lastSuccess - Date().timeIntervalSince1970) < 30, "last successful poll \(lastSuccess)")
        #expect(await daemon.terminate(timeout: 20) == 0, "\(daemon.stderr)")
    }

    @Test("SIGHUP: a broken grammar keeps the old one with a warning; a good one switches")
    func reloadOnSIGHUP() async throws {
        let grammar = "grammar-copy"
        let setup = try await Self.setup("sighup", extra: "grammar:\n  path: \(grammar)\n")
        defer { setup.sandbox.remove() }
        let folder = setup.sandbox.file(grammar)
        try FileManager.default.copyItem(at: Metergate.packageRoot.appendingPathComponent("Grammars"), to: folder)
        try FileManager.default.createDirectory(at: setup.inbox, withIntermediateDirectories: true)
        let numbers = folder.appendingPathComponent("numbers.grammar")
        let original = try String(contentsOf: numbers, encoding: .utf8)
        try #require(original.contains("uin_digits = 7-12"))

        let daemon = try Daemon(["run", "--config", setup.config], in: setup.sandbox.url)
        defer { daemon.cleanUp() }
        try #require(await waitUntil(timeout: 20) { Self.port(daemon) != nil }, "not started: \(daemon.stderr)")

        try (original + "\nthis is not a grammar line\n").write(to: numbers, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(await waitUntil(timeout: 10) { daemon.stderr.contains("keeping the ones in use") }, "warning: \(daemon.stderr)")
        #expect(daemon.stderr.contains("numbers.grammar:"), "the warning names the file and line: \(daemon.stderr)")
        try Self.dropSMS("7654321 700", from: "+79811567352", sequence: 1, inbox: setup.inbox)
        #expect(await waitUntil(timeout: 20) { daemon.stderr.contains("uin=7654321 accepted T1=700") }, "old grammar in use: \(daemon.stderr)")

        // A good grammar that reads 7-digit UINs no more.
        try original.replacingOccurrences(of: "uin_digits = 7-12", with: "uin_digits = 8-12")
            .write(to: numbers, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(await waitUntil(timeout: 10) { daemon.stderr.contains("grammar and reply templates reloaded") }, "\(daemon.stderr)")
        try Self.dropSMS("7654321 710", from: "+79811567352", sequence: 2, inbox: setup.inbox)
        #expect(await waitUntil(timeout: 20) { Self.files(setup.processed).count == 2 }, "\(daemon.stderr)")
        let second = Self.lines(daemon.stderr, containing: " sms gateway ").last ?? ""
        #expect(second.contains("rejected") && !second.contains("T1=710"), "the new grammar is in use: \(second)")
        #expect(await daemon.terminate(timeout: 20) == 0)
    }

    @Test("SIGTERM during a burst loses nothing: every file is in the ledger exactly once after a restart")
    func sigtermDuringBurst() async throws {
        let setup = try await Self.setup("burst", policy: "  max_messages_per_sender_per_hour: 100000\n")
        defer { setup.sandbox.remove() }
        try FileManager.default.createDirectory(at: setup.inbox, withIntermediateDirectories: true)
        let total = 600
        for sequence in 0..<total {
            try Self.dropSMS("7654321 \(1000 + sequence)", from: "+7981\(String(format: "%07d", sequence))", sequence: sequence, inbox: setup.inbox)
        }
        let daemon = try Daemon(["run", "--config", setup.config], in: setup.sandbox.url)
        defer { daemon.cleanUp() }
        try #require(await waitUntil(timeout: 30) { daemon.stderr.contains(" sms gateway ") }, "no message processed: \(daemon.stderr)")
        let status = await daemon.terminate(timeout: 30)
        #expect(status == 0, "clean exit on SIGTERM: \(daemon.stderr)")
        let acknowledged = Self.files(setup.processed).count
        let left = Self.files(setup.inbox).count
        #expect(acknowledged + left == total, "no file lost at the source: \(acknowledged) + \(left)")
        let recorded = try await Self.todayCounts(setup.sandbox, config: setup.config).values.reduce(0, +)
        #expect(recorded >= acknowledged, "every acknowledged message is in the ledger: \(recorded) < \(acknowledged)")

        let rest = try await setup.sandbox.run(["run", "--once", "--config", setup.config], timeout: 120)
        #expect(rest.status == 0, "\(rest)")
        #expect(Self.files(setup.processed).count == total && Self.files(setup.inbox).isEmpty)
        let counts = try await Self.todayCounts(setup.sandbox, config: setup.config)
        #expect(counts.values.reduce(0, +) == total, "each message recorded exactly once: \(counts)")
    }

    @Test("limits: the loop guard sends the same reply at most N times; a sender over the limit is logged once")
    func loopGuardAndSenderLimit() async throws {
        let setup = try await Self.setup(
            "limits", policy: "  max_messages_per_sender_per_hour: 4\n  max_same_reply: 2\n  same_reply_window: 1h\n")
        defer { setup.sandbox.remove() }
        try FileManager.default.createDirectory(at: setup.inbox, withIntermediateDirectories: true)
        // A sender that repeats the same unreadable text: four identical replies due.
        for sequence in 0..<4 {
            try Self.dropSMS("hello", from: "+79035550000", sequence: sequence, inbox: setup.inbox)
        }
        // A sender over the limit: 7 messages, 4 counted, 3 ignored.
        for sequence in 10..<17 {
            try Self.dropSMS("7654321 \(900 + sequence)", from: "+79811567352", sequence: sequence, inbox: setup.inbox)
        }
        let daemon = try Daemon(["run", "--config", setup.config], in: setup.sandbox.url)
        defer { daemon.cleanUp() }
        try #require(await waitUntil(timeout: 20) { Self.port(daemon) != nil }, "not started: \(daemon.stderr)")
        let port = try #require(Self.port(daemon))
        #expect(await waitUntil(timeout: 30) { Self.files(setup.processed).count == 11 }, "\(daemon.stderr)")
        #expect(await waitUntil(timeout: 20) {
            let metrics = (try? PrometheusText.parse(await LocalHTTP.get(port: port, path: "/metrics")?.body ?? "")) ?? []
            return metrics.total("metergate_replies_delivered_total") + metrics.total("metergate_replies_suppressed_total") == 8
        }, "every reply decided: \(daemon.stderr)")

        let replies = Self.files(setup.outbox)
        #expect(replies.count == 6, "2 of the 4 identical replies + 4 confirmations: \(replies)")
        let metrics = try PrometheusText.parse(try #require(await LocalHTTP.get(port: port, path: "/metrics")).body)
        #expect(metrics.total("metergate_replies_suppressed_total", ["channel": "sms"]) == 2)
        #expect(metrics.total("metergate_sender_limit_hits_total", ["channel": "sms"]) == 3)
        #expect(metrics.total("metergate_limit_sender_messages_per_hour") == 4)
        #expect(metrics.total("metergate_limit_same_reply_max") == 2)
        let log = daemon.stderr
        #expect(Self.lines(log, containing: "sender limit reached").count == 1, "once, not once per message: \(log)")
        #expect(Self.lines(log, containing: "loop guard").count == 1, "once per recipient and window: \(log)")
        #expect(Self.lines(log, containing: " sms gateway ").filter { $0.contains("rate_limited") }.isEmpty,
                "messages over the limit are not logged one by one at info: \(log)")

        let status = try await setup.sandbox.run(["status", "--config", setup.config], timeout: 30)
        #expect(status.stdoutText.contains("4 messages per sender per hour"), "\(status.stdoutText)")
        #expect(status.stdoutText.contains("at most 2 times per 1h"), "\(status.stdoutText)")
        #expect(status.stdoutText.contains("senders over the limit today: 1 (3 message(s) ignored)"), "\(status.stdoutText)")
        #expect(status.stdoutText.contains("failed 2"), "suppressed replies are failed in the outbox: \(status.stdoutText)")
        #expect(await daemon.terminate(timeout: 20) == 0)
    }
}
