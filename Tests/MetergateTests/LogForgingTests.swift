import Foundation
import Testing
import TestSupport

/// Issue 13, item 4: no value from outside forges a log line or drives the terminal, and no
/// phone number shows unmasked — one message per channel through the running daemon.
@Suite("Logs that cannot be forged", .serialized)
struct LogForgingTests {
    @Test("Kannel id with %0A, a From with ESC, short numbers in ids: one escaped, masked line each")
    func oneLinePerChannel() async throws {
        let sandbox = try Sandbox("logforge")
        defer { sandbox.remove() }
        let port = freeLoopbackPort()
        for folder in ["mail/new", "mail/cur", "mail/tmp", "sms/inbox", "outbox"] {
            try FileManager.default.createDirectory(at: sandbox.file(folder), withIntermediateDirectories: true)
        }
        let config = try sandbox.writeConfig(extra: """
            mailboxes:
              - name: mail
                url: maildir:\(sandbox.file("mail").path)
                poll_interval: 200ms
            sms:
              - name: files
                kind: files
                inbox: \(sandbox.file("sms/inbox").path)
                poll_interval: 200ms
              - name: kannel
                kind: kannel
                listen: 127.0.0.1:\(port)
            outbox:
              path: \(sandbox.file("outbox").path)
            http:
              listen: "off"

            """.replacingOccurrences(of: "mailboxes: []\nsms: []\n", with: ""))
        // writeConfig writes empty feed lists first: drop them so the ones above count.
        let text = try sandbox.read("config.yaml").replacingOccurrences(of: "mailboxes: []\nsms: []\n", with: "")
        try sandbox.write("config.yaml", text)
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")

        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        #expect(await waitUntil(timeout: 30) { daemon.stderr.contains("Kannel endpoint listening") }, "\(daemon.stderr)")

        // E-mail: ESC sequences in the address and the subject.
        let mail = "From: evil\u{1B}[2J\u{1B}]0;pwned\u{07}@example.ru\r\nTo: r@example.test\r\nSubject: 1234567 \u{1B}[31m12100 6050\r\nMessage-ID: <esc@example.ru>\r\n\r\nx\r\n"
        try sandbox.write("mail/tmp/1", mail)
        try FileManager.default.moveItem(at: sandbox.file("mail/tmp/1"), to: sandbox.file("mail/new/1"))
        // SMS file: a short number (7 digits) in the file name, i.e. in the id.
        try sandbox.write("sms/inbox/IN20261120_081500_00_+7903123_00.txt", "7654321 600")
        // Kannel: an id that would start a forged line, and a short sender.
        let forged = "x%0A2026-01-01T00:00:00Z%20sms%20kannel%20%2B7903***0000%20uin=1%20accepted%1B[2J"
        let push = try await SMSPeers.run("/usr/bin/curl", ["-s", "-g", "-o", "/dev/null", "-w", "%{http_code}",
            "http://127.0.0.1:\(port)/sms/kannel?from=%2B7903555&to=1234&text=7654321+601&id=\(forged)"])
        #expect(push.stdout == "200", "\(push)")

        #expect(await waitUntil(timeout: 30) {
            let log = daemon.stderr
            return log.contains(" email mail ") && log.contains(" sms files ") && log.contains(" sms kannel ")
        }, "\(daemon.stderr)")
        _ = await daemon.terminate(timeout: 20)
        let log = daemon.stderr
        #expect(!log.contains("\u{1B}") && !log.contains("\u{07}"), "raw terminal codes in the log: \(log)")
        for line in log.split(separator: "\n") {
            #expect(line.hasPrefix("20"), "every log line starts with its timestamp: \(line)")
        }
        #expect(!log.contains("7903123") && !log.contains("7903555"), "a short number unmasked: \(log)")
        #expect(log.contains("\\n2026-01-01T00:00:00Z"), "the newline is shown escaped: \(log)")
    }
}
