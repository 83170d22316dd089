import Foundation
import Testing
import TestSupport

/// `metergate run` without --config: everything in ./metergate-data/ (contract §3, last
/// paragraph). A person drops an e-mail into the Maildir and an SMS file into the Gammu
/// inbox and reads the replies in outbox/.
@Suite("Embedded-default daemon")
struct EmbeddedDaemonTests {
    static let messageID = "<meter-test-1@example.ru>"
    static let smsName = "IN20261120_081500_00_+79811567352_00.txt"

    static let mail = """
        From: Ivanov Ivan <ivanov@example.ru>\r
        To: readings@example.test\r
        Subject: 1234567 12500 6100\r
        Date: Fri, 20 Nov 2026 08:10:00 +0300\r
        Message-ID: \(messageID)\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: 8bit\r
        \r
        Добрый день! Показания во вложении... нет, в теме.\r

        """

    static func replyFiles(_ outbox: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    static func files(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Drops the mail the way an MTA does: write in tmp/, rename into new/.
    static func deliverMail(_ data: String, name: String, maildir: URL) throws {
        let temporary = maildir.appendingPathComponent("tmp").appendingPathComponent(name)
        try Data(data.utf8).write(to: temporary)
        try FileManager.default.moveItem(at: temporary, to: maildir.appendingPathComponent("new").appendingPathComponent(name))
    }

    @Test("drop an e-mail and an SMS, read both replies, SIGTERM, restart: nothing answered twice")
    func embeddedDefault() async throws {
        let sandbox = try Sandbox("daemon")
        defer { sandbox.remove() }
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv"], timeout: 30)
        try #require(imported.status == 0, "\(imported)")
        #expect(FileManager.default.fileExists(atPath: sandbox.file("metergate-data").path),
                "accounts import without --config must use ./metergate-data/")

        let data = sandbox.file("metergate-data")
        let maildir = data.appendingPathComponent("mail")
        let inbox = data.appendingPathComponent("sms/inbox")
        let outbox = data.appendingPathComponent("outbox")
        let mailName = "1763630000.M1P1.testhost"

        // First run.
        let daemon = try Daemon(["run"], in: sandbox.url)
        defer { daemon.cleanUp() }
        let ready = await waitUntil(timeout: 20) {
            FileManager.default.fileExists(atPath: maildir.appendingPathComponent("new").path)
                && FileManager.default.fileExists(atPath: maildir.appendingPathComponent("tmp").path)
                && FileManager.default.fileExists(atPath: inbox.path)
        }
        try #require(ready, "metergate run did not create metergate-data/mail/{new,tmp} and sms/inbox within 20 s; stderr: \(daemon.stderr)")
        try #require(daemon.isRunning, "metergate run exited early: \(daemon.stderr)")

        try Self.deliverMail(Self.mail, name: mailName, maildir: maildir)
        // Gammu writes the file in place; write it next door and move it in whole.
        let staged = data.appendingPathComponent(Self.smsName)
        try Data("7654321 700".utf8).write(to: staged)
        try FileManager.default.moveItem(at: staged, to: inbox.appendingPathComponent(Self.smsName))

        let answered = await waitUntil(timeout: 20) { Self.replyFiles(outbox).count >= 2 }
        let replies = Self.replyFiles(outbox)
        #expect(answered, "expected 2 reply files in outbox/ within 20 s, found \(replies); stderr: \(daemon.stderr)")
        #expect(replies.count == 2, "reply files: \(replies)")

        // The e-mail reply: RFC 3834 headers, In-Reply-To the original, a decodable "Re: …" subject.
        if let emailName = replies.first(where: { $0.hasSuffix(".eml") }) {
            let text = try String(contentsOf: outbox.appendingPathComponent(emailName), encoding: .utf8)
            #expect(MailDecoding.header("Auto-Submitted", in: text) == "auto-replied", "\(text)")
            #expect(MailDecoding.header("In-Reply-To", in: text) == Self.messageID, "\(text)")
            let references = MailDecoding.header("References", in: text) ?? ""
            #expect(references.contains(Self.messageID), "References should carry the original Message-ID: \(text)")
            #expect(MailDecoding.header("To", in: text)?.contains("ivanov@example.ru") == true, "\(text)")
            let rawSubject = try #require(MailDecoding.header("Subject", in: text), "no Subject: \(text)")
            let subject = try #require(MailDecoding.decodeEncodedWords(rawSubject), "undecodable Subject: \(rawSubject)")
            #expect(subject.hasPrefix("Re: "), "subject '\(subject)'")
            #expect(!subject.hasPrefix("Re: Re:"), "subject '\(subject)'")
            let encoding = MailDecoding.header("Content-Transfer-Encoding", in: text)?.lowercased()
            let rawBody = MailDecoding.body(of: text)
            let body = encoding == "quoted-printable" ? MailDecoding.quotedPrintable(rawBody) : rawBody
            #expect(body.contains("12500") && body.contains("6100"), "the reply should name the readings: \(body)")
        } else {
            Issue.record("no .eml reply among \(replies)")
        }

        // The SMS reply: one segment, names the reading.
        if let smsName = replies.first(where: { $0.hasSuffix(".txt") }) {
            #expect(smsName.contains("79811567352"), "\(smsName)")
            let text = try String(contentsOf: outbox.appendingPathComponent(smsName), encoding: .utf8)
            #expect(SMSSegment.problem(text) == nil, "\(SMSSegment.problem(text) ?? ""): \(text)")
            #expect(text.contains("700"), "the SMS reply should name the reading: \(text)")
        } else {
            Issue.record("no .txt (SMS) reply among \(replies)")
        }

        // One outcome line per message in the log, sender masked.
        await waitUntil(timeout: 5) { daemon.stderr.contains("uin=7654321") && daemon.stderr.contains("uin=1234567") }
        let log = daemon.stderr.split(separator: "\n").map(String.init)
        let smsLines = log.filter { $0.contains("uin=7654321") }
        let mailLines = log.filter { $0.contains("uin=1234567") }
        #expect(smsLines.count == 1, "SMS outcome lines: \(smsLines)\nlog:\n\(daemon.stderr)")
        #expect(mailLines.count == 1, "e-mail outcome lines: \(mailLines)\nlog:\n\(daemon.stderr)")
        if let line = smsLines.first {
            #expect(line.contains("+7981***7352"), "masked sender: \(line)")
            #expect(!line.contains("79811567352"), "the full phone number must not be logged: \(line)")
            #expect(line.contains("accepted"), "\(line)")
        }
        if let line = mailLines.first {
            #expect(line.contains("accepted"), "\(line)")
            #expect(!line.contains("ivanov@example.ru"), "the full address must not be logged: \(line)")
            #expect(line.contains("iv***@example.ru"), "masked sender: \(line)")
        }

        // SIGTERM: exit 0 within a few seconds.
        let status = await daemon.terminate(timeout: 10)
        #expect(status == 0, "metergate run after SIGTERM: status \(status.map(String.init) ?? "still running after 10 s (killed)"); stderr: \(daemon.stderr)")

        // The readings are recorded; the mail is in cur/, the SMS in processed/.
        let (export, header, rows) = try await sandbox.exportRows(config: nil)
        #expect(export.status == 0, "\(export)")
        #expect(header.first == "uin")
        #expect(rows.filter { $0["uin"] == "1234567" }.map { $0["value"] ?? "" }.sorted() == ["12500", "6100"], "\(export.stdoutText)")
        #expect(rows.filter { $0["uin"] == "7654321" }.map { $0["value"] ?? "" } == ["700"], "\(export.stdoutText)")
        #expect(rows.filter { $0["uin"] == "7654321" }.first?["channel"] == "sms")
        #expect(rows.filter { $0["uin"] == "1234567" }.first?["channel"] == "email")
        #expect(Self.files(maildir.appendingPathComponent("new")).isEmpty, "mail/new: \(Self.files(maildir.appendingPathComponent("new")))")
        #expect(Self.files(maildir.appendingPathComponent("cur")).count == 1, "mail/cur: \(Self.files(maildir.appendingPathComponent("cur")))")
        #expect(Self.files(maildir.appendingPathComponent("cur")).first?.hasPrefix(mailName) == true)
        #expect(Self.files(inbox).isEmpty, "sms/inbox: \(Self.files(inbox))")
        #expect(Self.files(data.appendingPathComponent("sms/processed")).contains(Self.smsName),
                "sms/processed: \(Self.files(data.appendingPathComponent("sms/processed")))")

        // Second run: the same mail file again must not be recorded or answered twice.
        let again = try Daemon(["run"], in: sandbox.url)
        defer { again.cleanUp() }
        try Self.deliverMail(Self.mail, name: mailName, maildir: maildir)
        let consumed = await waitUntil(timeout: 20) { Self.files(maildir.appendingPathComponent("new")).isEmpty }
        #expect(consumed, "the second run did not take the mail out of new/: \(again.stderr)")
        await pause(3) // the outbox is drained every second: give a wrong reply time to appear
        #expect(Self.replyFiles(outbox).count == 2, "reply files after re-delivery: \(Self.replyFiles(outbox)); stderr: \(again.stderr)")
        #expect(!again.stderr.split(separator: "\n").contains { $0.contains("uin=1234567") && $0.contains(" accepted") },
                "the re-delivered mail was accepted again: \(again.stderr)")
        let secondStatus = await again.terminate(timeout: 10)
        #expect(secondStatus == 0, "second run after SIGTERM: \(secondStatus.map(String.init) ?? "hung"); \(again.stderr)")
        let (_, _, rowsAfter) = try await sandbox.exportRows(config: nil)
        #expect(rowsAfter.count == rows.count, "rows before \(rows.count), after re-delivery \(rowsAfter.count)")
    }
}
