import Foundation
import Testing
import TestSupport

/// Issue 13, item 6: `run --once` polls every feed even when one fails, and exits 1 when a
/// feed failed or a reply could not be delivered.
@Suite("run --once with faults")
struct RunOnceFaultTests {
    @Test("a failing mailbox does not stop the SMS feed after it; exit 1 naming the feed")
    func failingFeedThenOthers() async throws {
        let sandbox = try Sandbox("oncefault")
        defer { sandbox.remove() }
        let closed = freeLoopbackPort()
        try FileManager.default.createDirectory(at: sandbox.file("sms/inbox"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: sandbox.file("outbox"), withIntermediateDirectories: true)
        let config = try await sandbox.prepared(extraConfig: """
            outbox:
              path: \(sandbox.file("outbox").path)

            """)
        let text = try sandbox.read("config.yaml").replacingOccurrences(of: "mailboxes: []\nsms: []\n", with: """
            mailboxes:
              - name: down
                url: imap://127.0.0.1:\(closed)/INBOX
                username: u
                password: p
            sms:
              - name: files
                kind: files
                inbox: \(sandbox.file("sms/inbox").path)

            """)
        try sandbox.write("config.yaml", text)
        try sandbox.write("sms/inbox/IN20261120_081500_00_+79811567352_00.txt", "7654321 600")
        let result = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("down"), "\(result.stderr)")
        let (_, _, rows) = try await sandbox.exportRows(config: config)
        #expect(rows.contains { $0["uin"] == "7654321" && $0["value"] == "600" }, "the SMS feed after the failing one was polled: \(rows)")
    }

    @Test("a reply that cannot be delivered (SMTP down) makes run --once exit 1; the reading is recorded")
    func undeliverableReply() async throws {
        let sandbox = try Sandbox("oncereply")
        defer { sandbox.remove() }
        let closed = freeLoopbackPort()
        for folder in ["mail/new", "mail/cur", "mail/tmp"] {
            try FileManager.default.createDirectory(at: sandbox.file(folder), withIntermediateDirectories: true)
        }
        let config = try await sandbox.prepared(extraConfig: """
            smtp:
              url: smtp://127.0.0.1:\(closed)
              from: "Показания <readings@example.test>"

            """)
        let text = try sandbox.read("config.yaml").replacingOccurrences(of: "mailboxes: []\n", with: """
            mailboxes:
              - name: mail
                url: maildir:\(sandbox.file("mail").path)

            """)
        try sandbox.write("config.yaml", text)
        try sandbox.write("mail/new/1", "From: ivanov@example.ru\r\nSubject: 1234567 12100 6050\r\nMessage-ID: <once@example.ru>\r\n\r\n")
        let result = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("could not be delivered"), "\(result.stderr)")
        let (_, _, rows) = try await sandbox.exportRows(config: config)
        #expect(rows.contains { $0["uin"] == "1234567" }, "\(rows)")
    }
}
