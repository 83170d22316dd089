import Foundation
import Testing
import TestSupport

/// Corrections and the history through the real peers (issue 14): a typo fixed by a lower
/// correction and a history request, over Gammu SMSD (`run --once` against gammu-smsd's
/// database) and over IMAP (Dovecot in, the SMTP sink out), replies read at the peer.
@Suite("Corrections and history through Gammu and IMAP", .serialized, .tags(.peer), .timeLimit(.minutes(10)))
struct CorrectionsLiveTests {
    static let accounts = """
        uin,meters,previous,digits,phones,emails
        1234567,T1,12000,,+79031234567,owner@example.ru

        """

    static func config(_ sandbox: Sandbox, feeds: String) throws -> String {
        try sandbox.write("accounts.csv", Self.accounts)
        return try sandbox.write("config.yaml", """
            store:
              path: \(jsonString(sandbox.file("store.sqlite").path))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
              timezone: Europe/Moscow
            log:
              format: json
              level: info
              personal_data: true
            \(feeds)
            """).path
    }

    /// Today as the history reply writes the day (the messages are sent now, in Moscow).
    static var today: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Moscow")!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date().addingTimeInterval(-600))
        return String(format: "%02d.%02d.%04d", parts.day!, parts.month!, parts.year!)
    }

    @Test("Gammu: a typo fixed by a lower correction, the history to the owner and to a stranger",
          Peer.needs(Peer.gammu && Peer.sqlite3, "gammu-smsd, libdbd-sqlite3 or sqlite3"))
    func gammu() async throws {
        let driver = GammuDriver()
        let sandbox = try Sandbox("corrections-gammu")
        defer { sandbox.remove() }
        let state = sandbox.file("peer")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let feed = try await driver.start(state: state)
        do {
            let config = try Self.config(sandbox, feeds: "sms:\n" + feed)
            let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
            try #require(imported.status == 0, "\(imported)")
            // One round per step: a person's correction comes after the first text was answered.
            let rounds: [[PhoneMessage]] = [
                [PhoneMessage(from: "+79031234567", text: "1234567 12500")],
                [PhoneMessage(from: "89031234567", text: "1234567 12400")],
                [PhoneMessage(from: "+79031234567", text: "история"), PhoneMessage(from: "+79035557777", text: "история 1234567")],
            ]
            var outcomes: [LoggedOutcome] = []
            for round in rounds {
                try await driver.deliver(round)
                let run = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
                try #require(run.status == 0, "\(run)")
                outcomes += LoggedOutcome.parse(run.stderr).filter { !$0.id.isEmpty }
            }
            let replies = try await driver.replies()
            await driver.stop()

            #expect(outcomes.map(\.status) == ["accepted", "accepted", "answered", "answered"], "\(outcomes.map(\.status))")
            let got = replies.map { "\(Peers.e164($0.to) ?? $0.to) \($0.text)" }.sorted()
            let want = [
                "+79031234567 Показания приняты: 12500. Спасибо!",
                "+79031234567 Принято: 12500 → 12400",
                "+79031234567 УИН 1234567: 12400 приняты \(Self.today)",
                "+79035557777 История показаний - только на телефон и e-mail из договора.",
            ].sorted()
            #expect(got == want, "replies at gammu-smsd: \(got)")
            #expect(replies.allSatisfy { $0.segments == 1 }, "\(replies.map(\.segments))")
            let export = try await sandbox.run(["readings", "export", "--config", config])
            let rows = parseExportCSV(export.stdoutText).rows
            #expect(rows.map { "\($0["value"]!) \($0["status"]!)" } == ["12400 accepted"], "billing gets the correction only: \(export.stdoutText)")
        } catch {
            await driver.stop()
            throw error
        }
    }

    static func mail(_ id: String, from: String, subject: String) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let date = formatter.string(from: Date().addingTimeInterval(-300))
        let encoded = "=?UTF-8?B?" + Data(subject.utf8).base64EncodedString() + "?="
        return Array(("From: \(from)\r\nTo: readings@example.test\r\nSubject: \(encoded)\r\nDate: \(date)\r\n"
            + "Message-ID: <\(id)@abonent.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Добрый день\r\n").utf8)
    }

    @Test("IMAP: a typo fixed by a lower correction, the history to the owner and to a stranger",
          Peer.needs(Peer.mail, "Dovecot or python3-aiosmtpd"))
    func imap() async throws {
        let peers = try await MailPeers.start("corrections")
        defer { peers.stop() }
        let sandbox = try Sandbox("corrections-imap")
        defer { sandbox.remove() }
        let config = try Self.config(sandbox, feeds: """
            mailboxes:
              - name: readings
                url: imap://127.0.0.1:\(peers.port("DOVECOT_IMAP_PORT"))/INBOX
                username: readings@example.test
                password: secret
                poll_interval: 1s
                after: seen
            sms: []
            smtp:
              url: smtp://127.0.0.1:\(peers.port("SMTP_SINK_PORT"))
              from: "Показания <readings@example.test>"
            """)
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let rounds: [[[UInt8]]] = [
            [Self.mail("a1", from: "Иван <owner@example.ru>", subject: "1234567 12500")],
            [Self.mail("a2", from: "Иван <owner@example.ru>", subject: "Re: 1234567 12400")],
            [Self.mail("a3", from: "owner@example.ru", subject: "история"),
             Self.mail("a4", from: "stranger@example.org", subject: "История 1234567")],
        ]
        var outcomes: [LoggedOutcome] = []
        for round in rounds {
            try await peers.deliver(round, user: "readings@example.test")
            let run = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
            try #require(run.status == 0, "\(run)")
            outcomes += LoggedOutcome.parse(run.stderr).filter { !$0.id.isEmpty }
        }
        #expect(outcomes.map(\.status) == ["accepted", "accepted", "answered", "answered"], "\(outcomes.map(\.status))")

        func body(_ raw: String) -> String {
            let encoded = MailDecoding.body(of: raw)
            let text = MailDecoding.header("Content-Transfer-Encoding", in: raw)?.lowercased() == "quoted-printable"
                ? MailDecoding.quotedPrintable(encoded) : encoded
            return text.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let replies = try peers.received().map { (to: $0.recipients.joined(separator: ","), body: body($0.raw), raw: $0.raw) }
        #expect(replies.count == 4, "\(replies.map(\.to))")
        let owner = replies.filter { $0.to == "owner@example.ru" }.map(\.body)
        #expect(owner.contains { $0.hasPrefix("Здравствуйте! Показания приняты: 12500.") }, "\(owner)")
        #expect(owner.contains { $0.hasPrefix("Здравствуйте! Показания исправлены: вместо 12500 приняты 12400.") }, "\(owner)")
        #expect(owner.contains { $0.hasPrefix("Здравствуйте! Последние принятые показания по УИН 1234567: 12400. Получены \(Self.today).") },
                "\(owner)")
        let stranger = replies.filter { $0.to == "stranger@example.org" }
        #expect(stranger.count == 1)
        #expect(stranger.first.map { $0.body.hasPrefix("Здравствуйте! История показаний отправляется только на телефоны и адреса") } == true,
                "\(stranger.map(\.body))")
        #expect(stranger.first.map { !$0.body.contains("12400") && !$0.body.contains("12500") } == true)
        for reply in replies {
            #expect(MailDecoding.header("Auto-Submitted", in: reply.raw) == "auto-replied")
        }
        let export = try await sandbox.run(["readings", "export", "--all", "--config", config])
        #expect(parseExportCSV(export.stdoutText).rows.map { "\($0["value"]!) \($0["status"]!)" } == ["12500 superseded", "12400 accepted"],
                "\(export.stdoutText)")
    }
}
