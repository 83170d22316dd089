import Foundation
import Testing
import TestSupport

/// The shared SMS compatibility suite (issue 4, item 6): for every channel kind, the same
/// messages go in as a phone sends them — the SMS cases of the public corpus, a long message
/// in parts, a duplicate delivery, Cyrillic, an emoji, a short code and an alphanumeric
/// sender — and the ledger must hold the same outcomes as `metergate replay` gives for the
/// same texts, with exactly one reply per answerable message at the peer: the reply replay
/// wrote, one segment, readable Cyrillic.
@Suite("SMS compatibility", .serialized, .tags(.peer), .timeLimit(.minutes(15)))
struct SMSCompatibilityTests {
    /// Every channel kind's driver; a new kind is one line here.
    static let drivers: [any SMSPeerDriver] = [
        FilesDriver(),
        GammuDriver(),
        GammuDriver(driver: "pgsql"),
        KannelDriver(),
        SMSCDriver(),
    ]

    /// Accounts for the extra messages (the corpus's own are in Fixtures/accounts.csv).
    static let extraAccounts = """
        7000001,T1,1000,,,
        7000002,T1;T2,500;200,,,
        7000003,T1,300,,,
        7000004,T1,100,,,

        """

    static func messages() throws -> [PhoneMessage] {
        var messages = try CorpusCase.all().filter { $0.channel == "sms" }.map { item -> PhoneMessage in
            let object = try JSONSerialization.jsonObject(with: Data(item.input.utf8)) as? [String: Any] ?? [:]
            return PhoneMessage(from: object["from"] as? String ?? "", text: object["text"] as? String ?? "")
        }
        messages += [
            PhoneMessage(
                from: "+79161110001",
                text: "Добрый день! Передаю показания счётчика электроэнергии по договору 7000001: 1234. Спасибо за вашу работу и хорошего дня!",
                parts: 3),
            PhoneMessage(from: "89161110002", text: "7000002 день 612 ночь 245", duplicate: true),
            PhoneMessage(from: "+79161110003", text: "7000003 350 👍"),
            PhoneMessage(from: "900", text: "7000004 150"),
            PhoneMessage(from: "MTS", text: "Ваш баланс 150 руб. Пополните счёт"),
        ]
        return messages
    }

    // One test per kind, each skipped (not passed) when its peer is missing.
    @Test func files() async throws { try await sameOutcomesAndOneReplyPerMessage(kind: "files") }
    @Test(Peer.needs(Peer.gammu && Peer.sqlite3, "gammu-smsd, libdbd-sqlite3 or sqlite3"))
    func gammu() async throws { try await sameOutcomesAndOneReplyPerMessage(kind: "gammu") }
    @Test(Peer.needs(Peer.gammu && Peer.postgres, "gammu-smsd or PostgreSQL"))
    func gammuPostgreSQL() async throws { try await sameOutcomesAndOneReplyPerMessage(kind: "gammu-postgres") }
    @Test(Peer.needs(Peer.kannel, "Kannel (kannel, kannel-extras)"))
    func kannel() async throws { try await sameOutcomesAndOneReplyPerMessage(kind: "kannel") }
    @Test func smsc() async throws { try await sameOutcomesAndOneReplyPerMessage(kind: "smsc") }

    func sameOutcomesAndOneReplyPerMessage(kind: String) async throws {
        let driver = try #require(Self.drivers.first { $0.kind == kind }, "no driver of kind \(kind): \(Self.drivers.map(\.kind))")
        let sandbox = try Sandbox("sms-\(kind)")
        defer { sandbox.remove() }
        let messages = try Self.messages()
        try sandbox.write("accounts.csv", String(decoding: try Fixture.data("accounts.csv"), as: UTF8.self) + Self.extraAccounts)

        // The reference: the same texts through `replay`, each once, in a store of its own.
        let now = ISO8601DateFormatter().string(from: Date())
        let referenceConfig = try sandbox.write("reference.yaml", "store:\n  path: \(jsonString(sandbox.file("reference.sqlite").path))\n").path
        let input = try messages.enumerated().map { index, message in
            try replayLine(["id": "c\(index)", "channel": "sms", "from": message.from, "text": message.text, "received_at": now])
        }
        try sandbox.write("input.jsonl", input.joined(separator: "\n") + "\n")
        let referenceImport = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", referenceConfig])
        try #require(referenceImport.status == 0, "\(referenceImport)")
        let reference = try await sandbox.run(["replay", "input.jsonl", "--config", referenceConfig])
        try #require(reference.status == 0, "\(reference)")
        let expected = try reference.stdoutLines.map(OutcomeLine.parse)
        try #require(expected.count == messages.count)

        // The channel.
        let state = sandbox.file("peer")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let feed = try await driver.start(state: state)
        do {
            let config = try sandbox.write("config.yaml", """
                store:
                  path: \(jsonString(sandbox.file("store.sqlite").path))
                policy:
                  max_increase: 5000
                  submission_days: "1-31"
                  max_messages_per_sender_per_hour: 20
                log:
                  format: json
                  level: info
                  personal_data: true
                sms:
                \(feed)
                """).path
            let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
            try #require(imported.status == 0, "\(imported)")
            let log: String
            if driver.pushes {
                // A push gateway delivers concurrently, so two texts of one sender sent at once may
                // arrive in either order (and the second may then read as a correction of the
                // first). A person's second text comes later: each sender's k-th message goes in
                // round k, after round k-1 is recorded.
                let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
                defer { daemon.cleanUp() }
                var seen: [String: Int] = [:]
                var rounds: [[PhoneMessage]] = []
                for message in messages {
                    let key = Peers.e164(message.from) ?? message.from
                    let round = seen[key, default: 0]
                    seen[key] = round + 1
                    if rounds.count <= round { rounds.append([]) }
                    rounds[round].append(message)
                }
                var delivered = 0
                for round in rounds {
                    try await driver.deliver(round)
                    delivered += round.count
                    let target = delivered
                    await waitUntil(timeout: 120) { Self.outcomes(daemon.stderr).count >= target }
                }
                await pause(3)  // a duplicate would show up as an extra outcome
                let status = await daemon.terminate(timeout: 30)
                #expect(status == 0, "metergate run: \(daemon.stderr.suffix(2000))")
                log = daemon.stderr
            } else {
                try await driver.deliver(messages)
                let run = try await sandbox.run(["run", "--once", "--config", config], timeout: 300)
                try #require(run.status == 0, "\(run)")
                log = run.stderr
            }
            let replies = try await driver.replies()
            await driver.stop()
            check(kind: kind, messages: messages, expected: expected, outcomes: Self.outcomes(log), replies: replies)
        } catch {
            await driver.stop()
            throw error
        }
    }

    /// The per-message lines of metergate's JSON log.
    static func outcomes(_ log: String) -> [[String: Any]] {
        log.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["channel"] as? String == "sms", object["id"] != nil, object["status"] != nil else { return nil }
            return object
        }
    }

    static func canonical(status: String?, reason: String?, results: [(uin: String?, status: String?, readings: [String]?)]) -> String {
        let parts = results.map { "\($0.uin ?? "-"):\($0.status ?? "-"):\(($0.readings ?? []).joined(separator: ","))" }
        return "\(status ?? "-")|\(reason ?? "-")|\(parts.joined(separator: ";"))"
    }

    func check(kind: String, messages: [PhoneMessage], expected: [OutcomeLine], outcomes: [[String: Any]], replies: [PeerReply]) {
        func sender(_ text: String) -> String { Peers.e164(text) ?? text.trimmingCharacters(in: .whitespaces) }

        // Outcomes: one per message (a duplicate delivery is one message), the same per sender as replay's.
        #expect(outcomes.count == messages.count, "\(kind): \(outcomes.count) outcomes logged for \(messages.count) messages")
        var want: [String: [String]] = [:]
        for (message, line) in zip(messages, expected) {
            want[sender(message.from), default: []].append(Self.canonical(
                status: line.status, reason: line.reason, results: line.results.map { ($0.uin, $0.status, $0.readings) }))
        }
        var got: [String: [String]] = [:]
        for object in outcomes {
            let results = (object["results"] as? [[String: Any]] ?? []).map { item in
                (uin: item["uin"] as? String, status: item["status"] as? String, readings: item["readings"] as? [String])
            }
            got[sender(object["sender"] as? String ?? "-"), default: []].append(Self.canonical(
                status: object["status"] as? String, reason: object["reason"] as? String, results: results))
        }
        for key in Set(want.keys).union(got.keys).sorted() {
            #expect(want[key, default: []].sorted() == got[key, default: []].sorted(),
                    "\(kind): outcomes for \(key): got \(got[key, default: []]), replay gives \(want[key, default: []])")
        }
        // Sanity of the reference itself: the long message and the emoji were read.
        #expect(expected[expected.count - 5].status == "accepted" && expected[expected.count - 3].status == "accepted")

        // Replies: exactly the answerable ones, each once, as replay wrote them, one segment.
        var wantReplies: [String] = []
        for (message, line) in zip(messages, expected) {
            guard let number = Peers.e164(message.from), case .some(.some(let text)) = line.reply else { continue }
            wantReplies.append("\(number) \(text)")
        }
        let gotReplies = replies.map { "\(sender($0.to)) \($0.text)" }
        #expect(wantReplies.count >= messages.count - 10, "\(kind): replay answers only \(wantReplies.count) of \(messages.count)")
        print("SMS compatibility \(kind): \(outcomes.count) outcomes, \(replies.count) replies at the peer (replay: \(wantReplies.count))")
        #expect(gotReplies.sorted() == wantReplies.sorted(),
                "\(kind): replies at the peer differ from replay's:\nmissing: \(wantReplies.filter { !gotReplies.contains($0) })\nunexpected: \(gotReplies.filter { !wantReplies.contains($0) })")
        for reply in replies {
            #expect(reply.segments == 1, "\(kind): reply to \(reply.to) in \(reply.segments) segments: \(reply.text)")
            #expect(SMSSegment.problem(reply.text) == nil, "\(kind): \(SMSSegment.problem(reply.text) ?? "")")
            #expect(reply.text.contains { ("а"..."я").contains($0) || ("А"..."Я").contains($0) } && !reply.text.contains("?") && !reply.text.contains("\u{FFFD}"),
                    "\(kind): reply to \(reply.to) is not readable Cyrillic: \(reply.text)")
        }
        #expect(!replies.contains { $0.to == "900" || $0.to == "MTS" }, "\(kind): a short code or an alphanumeric sender was answered")
    }
}
