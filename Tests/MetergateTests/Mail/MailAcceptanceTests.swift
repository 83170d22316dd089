import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The e-mail channel end to end: the built `metergate` against a real Dovecot (IMAP, POP3,
/// IMAPS) and a real SMTP server (aiosmtpd) on loopback.
@Suite("E-mail acceptance", .serialized, .tags(.peer), Peer.needs(Peer.mail, "Dovecot or python3-aiosmtpd"), .timeLimit(.minutes(10)))
struct MailAcceptanceTests {
    struct EmailCase {
        var corpus: CorpusCase
        var raw: [UInt8]
        var sender: String
        var messageID: String?
        var subject: String
    }

    static func emailCases() async throws -> [EmailCase] {
        let lines = try Fixture.text("public.jsonl").split(separator: "\n")
        let cases = try await CorpusCase.all()
        var result: [EmailCase] = []
        for (line, corpus) in zip(lines, cases) where corpus.channel == "email" {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let raw: String
            if let given = object["raw"] as? String {
                raw = given
            } else {
                raw = "From: \(object["from"] as? String ?? "")\r\nTo: readings@example.test\r\n"
                    + "Subject: \(object["subject"] as? String ?? "")\r\nDate: Fri, 20 Nov 2026 09:00:00 +0300\r\n"
                    + "Message-ID: <\(corpus.id)@corpus.example>\r\nMIME-Version: 1.0\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\n\r\n\(object["text"] as? String ?? "")\r\n"
            }
            let headers = mailHeaders(raw)
            let from = headers["from"] ?? ""
            let address = from.split(separator: "<").last.map { $0.replacingOccurrences(of: ">", with: "") } ?? from
            result.append(EmailCase(
                corpus: corpus, raw: Array(raw.utf8), sender: address.trimmingCharacters(in: .whitespaces).lowercased(),
                messageID: headers["message-id"], subject: decodeEncodedWords(headers["subject"] ?? "")))
        }
        return result
    }

    func config(_ sandbox: Sandbox, peers: MailPeers, mailbox: String, after: String = "seen", extra: String = "") throws -> String {
        try sandbox.write("accounts.csv", try Fixture.data("accounts.csv"))
        try FileManager.default.createDirectory(at: sandbox.file("store"), withIntermediateDirectories: true)
        let text = """
            store:
              path: \(jsonString(sandbox.file("store/metergate.sqlite").path))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
            mailboxes:
              - name: readings
                url: \(mailbox)
                after: \(after)
                poll_interval: 1s
            \(extra)
            sms: []
            smtp:
              url: smtp://127.0.0.1:\(peers.port("SMTP_SINK_PORT"))
              from: "Показания <readings@example.test>"
            log:
              format: json
              personal_data: true

            """
        return try sandbox.write("config-\(UUID().uuidString.prefix(6)).yaml", text).path
    }

    /// The corpus e-mails over IMAP, then over POP3: outcomes as the corpus expects, one correct
    /// reply per answered message, and a second `--once` that does nothing.
    @Test(arguments: ["imap", "pop3"])
    func corpusOverRealServers(_ scheme: String) async throws {
        let peers = try await MailPeers.start("corpus-\(scheme)")
        defer { peers.stop() }
        let sandbox = try Sandbox("mail-\(scheme)")
        defer { sandbox.remove() }
        let cases = try await Self.emailCases()
        #expect(cases.count >= 15)
        let user = scheme == "imap" ? "readings@example.test" : "second@example.test"
        let password = scheme == "imap" ? "secret" : "secret2"
        try await peers.deliver(cases.map(\.raw), user: user)
        let url = scheme == "imap"
            ? "imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/INBOX"
            : "pop3://127.0.0.1:\(peers.port("DOVECOT_POP3_PORT"))"
        let config = try self.config(sandbox, peers: peers, mailbox: url, after: scheme == "imap" ? "move:Processed" : "delete",
                                     extra: "    username: \(user)\n    password: \(password)")
        // The IMAP run moves into Processed: create it first (a missing folder is an error, not a loss).
        if scheme == "imap" {
            try await MailPeers.run("/usr/bin/curl", ["-s", "imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/", "-u", "\(user):\(password)", "-X", "CREATE Processed"])
        }
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        #expect(imported.status == 0, "\(imported)")
        let first = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(first.status == 0, "\(first)")
        let outcomes = LoggedOutcome.parse(first.stderr)
        #expect(outcomes.count == cases.count, "\(first.stderr.suffix(3000))")
        #expect(Set(outcomes.map(\.id)).count == outcomes.count)
        #expect(outcomes.allSatisfy { $0.id.hasPrefix(scheme == "imap" ? "imap:readings:INBOX:" : "pop3:readings:") })

        let replies = try peers.received()
        var expectedReplies = 0
        for item in cases {
            let matching = outcomes.filter { $0.sender?.lowercased() == item.sender }
            guard matching.count == 1, let outcome = matching.first else {
                Issue.record("\(item.corpus.id): \(matching.count) outcomes for \(item.sender)")
                continue
            }
            #expect(outcome.status == item.corpus.expect.status, "\(item.corpus.id): \(outcome.status)")
            if let reason = item.corpus.expect.reason {
                #expect(outcome.reason == reason || outcome.results.contains { $0.reason == reason }, "\(item.corpus.id)")
            }
            for want in item.corpus.expect.results {
                let got = outcome.results.first { $0.uin == want.uin }
                #expect(got != nil, "\(item.corpus.id): no result for UIN \(want.uin)")
                if let readings = want.readings, let got {
                    #expect(sameReadings(got.readings, readings), "\(item.corpus.id): \(got.readings) ≠ \(readings)")
                }
            }
            let answered = replies.filter { $0.recipients.map { $0.lowercased() } == [item.sender] }
            if item.corpus.expect.status == "ignored" {
                #expect(answered.isEmpty, "\(item.corpus.id): an ignored message was answered")
                continue
            }
            expectedReplies += 1
            #expect(answered.count == 1, "\(item.corpus.id): \(answered.count) replies")
            guard let reply = answered.first else { continue }
            let headers = mailHeaders(reply.raw)
            #expect(headers["auto-submitted"] == "auto-replied")
            #expect(headers["to"]?.lowercased().contains(item.sender) == true)
            #expect(headers["from"]?.contains("<readings@example.test>") == true)
            #expect(headers["date"] != nil && headers["message-id"] != nil)
            if let id = item.messageID {
                #expect(headers["in-reply-to"] == id, "\(item.corpus.id)")
                #expect(headers["references"]?.contains(id) == true, "\(item.corpus.id)")
            }
            let subject = decodeEncodedWords(headers["subject"] ?? "")
            #expect(subject.hasPrefix("Re: "), "\(item.corpus.id): \(subject)")
            #expect(headers["content-type"]?.lowercased().contains("charset=utf-8") == true)
            #expect(!reply.raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "bare LF in a reply")
        }
        #expect(replies.count == expectedReplies)

        // Nothing new the second time: no new message, no new reply.
        let second = try await sandbox.run(["run", "--once", "--config", config], timeout: 60)
        #expect(second.status == 0, "\(second)")
        #expect(LoggedOutcome.parse(second.stderr).filter { !$0.id.isEmpty }.isEmpty || second.stderr.contains("0 replies delivered"))
        #expect(LoggedOutcome.parse(second.stderr).isEmpty, "\(second.stderr.suffix(2000))")
        #expect(try peers.received().count == replies.count)

        // The after-action was applied: IMAP moved everything to Processed, POP3 deleted it.
        let port = scheme == "imap" ? peers.port("DOVECOT_IMAP_PORT") : peers.port("DOVECOT_POP3_PORT")
        if scheme == "imap" {
            let status = try await MailPeers.run("/usr/bin/curl", ["-s", "imap://127.0.0.1:\(port)/", "-u", "\(user):\(password)", "-X", "STATUS INBOX (MESSAGES)"])
            #expect(status.contains("MESSAGES 0"), "\(status)")
            let processed = try await MailPeers.run("/usr/bin/curl", ["-s", "imap://127.0.0.1:\(port)/", "-u", "\(user):\(password)", "-X", "STATUS Processed (MESSAGES)"])
            #expect(processed.contains("MESSAGES \(cases.count)"), "\(processed)")
        } else {
            let list = try await MailPeers.run("/usr/bin/curl", ["-s", "pop3://127.0.0.1:\(port)/", "-u", "\(user):\(password)"])
            #expect(list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(list)")
        }
    }

    /// imaps:// against Dovecot's self-signed certificate: a clear error by default, works with ca_file.
    @Test func imapsVerifiesTheCertificate() async throws {
        let peers = try await MailPeers.start("tls")
        defer { peers.stop() }
        let sandbox = try Sandbox("mail-tls")
        defer { sandbox.remove() }
        try await peers.deliver([Array("From: tls@example.org\r\nSubject: 406479026293 160929\r\nMessage-ID: <tls@x>\r\n\r\n\r\n".utf8)], user: "readings@example.test")
        let url = "imaps://localhost:\(peers.port("DOVECOT_IMAPS_PORT"))/INBOX"
        let login = "    username: readings@example.test\n    password: secret"
        let refused = try self.config(sandbox, peers: peers, mailbox: url, extra: login)
        let failed = try await sandbox.run(["run", "--once", "--config", refused], timeout: 60)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("certificate") && failed.stderr.contains("curl 60"), "\(failed.stderr.suffix(1500))")
        #expect(failed.stderr.contains("imaps://localhost:\(peers.port("DOVECOT_IMAPS_PORT"))/"))

        let trusted = try self.config(sandbox, peers: peers, mailbox: url, extra: login + "\n    ca_file: \(peers.dovecot["DOVECOT_CA_FILE"] ?? "")")
        let worked = try await sandbox.run(["run", "--once", "--config", trusted], timeout: 60)
        #expect(worked.status == 0, "\(worked)")
        #expect(LoggedOutcome.parse(worked.stderr).count == 1)
        #expect(try peers.received().count == 1)
    }

    /// A 12 MB mail, a mail with broken MIME and a plain one over IMAP: each gets an outcome
    /// (the big one `too_large`, fetched only up to the limit), nothing crashes, nothing is lost.
    @Test func bigAndMalformedMailGetOutcomes() async throws {
        let peers = try await MailPeers.start("odd")
        defer { peers.stop() }
        let sandbox = try Sandbox("mail-odd")
        defer { sandbox.remove() }
        let line = String(repeating: "0123456789abcdef", count: 4) + "\r\n"
        let big = "From: big@example.org\r\nSubject: 406479026293 160930\r\nMessage-ID: <big@x>\r\n\r\n"
            + String(repeating: line, count: 12 << 20 / line.utf8.count)
        let broken = "From: broken@example.org\r\nSubject: =?koi8r?B?broken\r\nMessage-ID: <broken@x>\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + "--nothing\r\n\u{01}\u{02}=?=\r\n--\r\n"
        let plain = "From: plain@example.org\r\nSubject: 406479026293 160931\r\nMessage-ID: <plain@x>\r\n\r\n\r\n"
        try await peers.deliver([Array(big.utf8), Array(broken.utf8), Array(plain.utf8)], user: "readings@example.test")
        let config = try self.config(sandbox, peers: peers, mailbox: "imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/INBOX",
                                     extra: "    username: readings@example.test\n    password: secret")
        _ = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        let run = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(run.status == 0, "\(run.stderr.suffix(1500))")
        let outcomes = LoggedOutcome.parse(run.stderr)
        #expect(outcomes.count == 3, "\(run.stderr.suffix(1500))")
        let bigOutcome = outcomes.first { $0.sender == "big@example.org" }
        #expect(bigOutcome?.reason == "too_large", "\(String(describing: bigOutcome))")
        #expect(outcomes.contains { $0.sender == "broken@example.org" })
        #expect(outcomes.contains { $0.sender == "plain@example.org" })
        let again = try await sandbox.run(["run", "--once", "--config", config], timeout: 60)
        #expect(again.status == 0 && LoggedOutcome.parse(again.stderr).isEmpty, "\(again.stderr.suffix(1000))")
    }

    /// 2,000 mails, `metergate run` killed with SIGKILL at random moments ≥ 10 times, then let
    /// finish: every mail in the ledger once, no reply ever sent twice, and every mail answered
    /// except at most the replies a kill left in doubt (end of data sent, no answer recorded) that
    /// the server had in fact not received — each of those held and logged, never resent.
    /// `paced`: the same through a relay that makes Dovecot look 15 ms away (each way, 1,448-byte
    /// segments), with 7-digit UIDs and four fetch connections.
    @Test(.timeLimit(.minutes(8)), arguments: [false, true])
    func survivesKillsWhileWorking(paced: Bool) async throws {
        let peers = try await MailPeers.start("crash")
        defer { peers.stop() }
        let sandbox = try Sandbox("mail-crash")
        defer { sandbox.remove() }
        let total = 2000
        var proxy: PeerProxy?
        defer { proxy?.stop() }
        var url = "imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/INBOX"
        var extra = "    username: readings@example.test\n    password: secret"
        if paced {
            try await MailFieldTests.deliver(peers, ["--min-next-uid", "1000000", "--generate", "\(total)"])
            let relay = try await MailFieldTests.paceProxy(state: peers.state.appendingPathComponent("pace"), target: peers.port("DOVECOT_IMAP_PORT"))
            proxy = relay
            url = "imap://127.0.0.1:\(relay.port)/INBOX"
            extra += "\n    fetch_connections: 4"
        } else {
            try await peers.generate(total, user: "readings@example.test")
        }
        let direct = "imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/"
        let config = try self.config(sandbox, peers: peers, mailbox: url, after: "delete", extra: extra)
        _ = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var held: Set<Int> = []
        var killedWhileSending = 0
        var killedDuringBatch = 0
        let sinkFolder = peers.sink["SMTP_SINK_MAIL"] ?? ""
        func sinkCount() async -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: sinkFolder)) ?? []).filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }.count
        }
        for round in 0..<12 {
            let startCount = await sinkCount()
            let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
            if round % 4 == 2 {
                // A kill during a batch: after this run's first commit (its small first batch was
                // logged), while the next batch of 500 streams in or is being recorded.
                let deadline = Date().addingTimeInterval(paced ? 20 : 5)
                while LoggedOutcome.parse(daemon.stderr).isEmpty, Date() < deadline, daemon.isRunning { await pause(0.01) }
                if !LoggedOutcome.parse(daemon.stderr).isEmpty { killedDuringBatch += 1 }
                await pause(Double.random(in: 0...0.1, using: &generator))
            } else if round % 2 == 1 {
                // Every other kill lands while replies are going out: wait (up to 5 s; 20 s over
                // the paced link) until this run's first reply reached the sink, then a little more.
                let deadline = Date().addingTimeInterval(paced ? 20 : 5)
                while await sinkCount() <= startCount, Date() < deadline, daemon.isRunning { await pause(0.01) }
                await pause(Double.random(in: 0...0.2, using: &generator))
            } else {
                await pause(Double.random(in: 0.25...0.9, using: &generator))
            }
            if daemon.isRunning {
                let before = await sinkCount()
                kill(daemon.process.processIdentifier, SIGKILL)
                daemon.process.waitUntilExit()
                kills += 1
                if before > startCount, before < total { killedWhileSending += 1 }
            }
            held.formUnion(Self.repliesHeldInDoubt(daemon.stderr))
            daemon.cleanUp()
        }
        #expect(kills >= 10)
        #expect(killedDuringBatch >= 2, "only \(killedDuringBatch) kills landed after a first commit, during a batch")
        #expect(killedWhileSending >= 3, "only \(killedWhileSending) kills landed while replies were going out")
        // Let it finish.
        for _ in 0..<10 {
            let finish = try await sandbox.run(["run", "--once", "--config", config], timeout: 300)
            #expect(finish.status == 0, "\(finish.stderr.suffix(1500))")
            held.formUnion(Self.repliesHeldInDoubt(finish.stderr))
            if finish.stderr.contains("0 replies delivered"), LoggedOutcome.parse(finish.stderr).isEmpty { break }
        }
        let status = try await sandbox.run(["status", "--config", config])
        let today = status.stdoutText.split(separator: "\n").first { $0.hasPrefix("today:") } ?? ""
        let counted = today.split(separator: ",").compactMap { part in Int(part.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(counted == total, "\(status.stdoutText)")
        #expect(status.stdoutText.contains("pending 0"), "\(status.stdoutText)")

        let replies = try peers.received()
        let inReplyTo = replies.compactMap { mailHeaders($0.raw)["in-reply-to"] }
        let distinct = Set(inReplyTo)
        // Our reply ids, from the replies' Message-ID `<reply.ID.created@domain>`.
        let sentIDs = replies.compactMap { reply in
            mailHeaders(reply.raw)["message-id"].flatMap { $0.split(separator: ".").dropFirst().first.flatMap { Int($0) } }
        }
        #expect(sentIDs.count == replies.count && inReplyTo.count == replies.count)
        // Never answered twice: not after a kill, not in doubt.
        #expect(replies.count == distinct.count, "\(replies.count - distinct.count) repeated replies after \(kills) kills")
        #expect(Set(sentIDs).count == sentIDs.count)
        // Every mail answered, except replies held in doubt that the server did not get.
        let lost = held.subtracting(sentIDs)
        #expect(distinct.count == total - lost.count, "\(distinct.count) distinct replies for \(total) mails; \(held.count) held in doubt, \(lost.count) of them not at the server")
        // Only what was in flight at a kill is in doubt: per kill, per connection one reply sending
        // and one accepted but not yet committed.
        #expect(held.count <= kills * 2 * 4, "\(held.count) replies in doubt after \(kills) kills")
        print("crash test\(paced ? " (paced)" : ""): \(kills) kills (\(killedWhileSending) while replies were going out, \(killedDuringBatch) during a batch), \(replies.count) replies for \(distinct.count) messages, \(held.count) held in doubt (\(lost.count) of them not at the server)")
        let left = try await MailPeers.run("/usr/bin/curl", ["-s", direct, "-u", "readings@example.test:secret", "-X", "STATUS INBOX (MESSAGES)"])
        #expect(left.contains("MESSAGES 0"), "\(left)")
    }

    /// The reply ids a run logged as held in doubt (event `reply-in-doubt`).
    static func repliesHeldInDoubt(_ stderr: String) -> Set<Int> {
        Set(stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.contains("reply-in-doubt"),
                  let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["reply_id"] as? String).flatMap { Int($0) } ?? object["reply_id"] as? Int
        })
    }
}
