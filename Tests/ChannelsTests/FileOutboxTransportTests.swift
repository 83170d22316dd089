import Foundation
import Testing
@testable import Channels
import MeterCore

@Suite("FileOutboxTransport")
struct FileOutboxTransportTests {
    let created = Date(timeIntervalSince1970: 1_795_162_500)   // 2026-11-20 08:15:00 UTC

    func emailReply(id: Int64 = 7, body: String = "Показания приняты: 123456 7890.\nСпасибо!") -> OutgoingReply {
        OutgoingReply(
            id: id, channel: .email, recipient: "ivanov@example.test",
            subject: "Re: 123456 7890 показания за ноябрь — квартира на улице Ленина",
            inReplyTo: "<abc@mail.example.test>", references: ["<first@x>", "abc@mail.example.test"],
            body: body, createdAt: created)
    }

    @Test func writesEmailReply() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(
            directory: temp.url.appendingPathComponent("outbox"), from: "Показания <readings@example.test>")
        #expect(await outbox.deliver(emailReply()) == .delivered)
        #expect(try temp.names(in: "outbox") == ["7-email-ivanov@example.test.eml"])

        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: temp.path("outbox/7-email-ivanov@example.test.eml"))))
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let header = parts[0]
        // Every line ends in CRLF: no bare LF anywhere.
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(header.contains("From: =?UTF-8?B?"))
        #expect(header.contains(" <readings@example.test>"))
        #expect(header.contains("\r\nTo: ivanov@example.test\r\n"))
        #expect(header.contains("\r\nDate: Fri, 20 Nov 2026 08:15:00 +0000\r\n"))
        #expect(header.contains("\r\nMessage-ID: <metergate.reply.7.1795162500@example.test>\r\n"))
        #expect(header.contains("\r\nIn-Reply-To: <abc@mail.example.test>\r\n"))
        #expect(header.contains("\r\nReferences: <first@x>\r\n <abc@mail.example.test>\r\n"))
        #expect(header.contains("\r\nAuto-Submitted: auto-replied\r\n"))
        #expect(header.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(header.contains("\r\nContent-Transfer-Encoding: 8bit"))
        #expect(parts[1] == "Показания приняты: 123456 7890.\r\nСпасибо!\r\n")

        // The subject: encoded words of at most 75 characters that decode to the original.
        let subjectLines = header.components(separatedBy: "\r\n")
            .drop { !$0.hasPrefix("Subject: ") }
            .prefix { $0.hasPrefix("Subject: ") || $0.hasPrefix(" =?") }
        let words = subjectLines.map { $0.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces) }
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") })
        let decoded = words.map { word -> String in
            let payload = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            return String(decoding: Data(base64Encoded: String(payload)) ?? Data(), as: UTF8.self)
        }.joined()
        #expect(decoded == emailReply().subject)
    }

    @Test func asciiSubjectStaysPlain() {
        #expect(MinimalReplyComposer.encodedText("Re: 123456 7890") == "Re: 123456 7890")
        #expect(MinimalReplyComposer.encodedText("Re: a\r\nBcc: x@y") == "Re: a Bcc: x@y")
        #expect(MinimalReplyComposer.mailbox("readings@example.test") == "readings@example.test")
        #expect(MinimalReplyComposer.mailbox("Meter \"Desk\" <m@example.test>") == "\"Meter \\\"Desk\\\"\" <m@example.test>")
    }

    @Test func writesSMSReply() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let reply = OutgoingReply(id: 12, channel: .sms, recipient: "+7 (903) 123-45-67", body: "Принято: 123456 7890", createdAt: created)
        #expect(await outbox.deliver(reply) == .delivered)
        #expect(try temp.names(in: "outbox") == ["12-sms-+7__903__123-45-67.txt"])
        let text = try String(contentsOfFile: temp.path("outbox/12-sms-+7__903__123-45-67.txt"), encoding: .utf8)
        #expect(text == "Принято: 123456 7890")
    }

    @Test func redeliveryOverwritesTheSameFile() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        // A temp file left by a crash is overwritten too.
        try temp.write(Array("half".utf8), to: "outbox/.tmp-7")
        #expect(await outbox.deliver(emailReply(body: "first")) == .delivered)
        #expect(await outbox.deliver(emailReply(body: "second")) == .delivered)
        #expect(try temp.names(in: "outbox") == ["7-email-ivanov@example.test.eml"])
        let text = try String(contentsOfFile: temp.path("outbox/7-email-ivanov@example.test.eml"), encoding: .utf8)
        #expect(text.hasSuffix("\r\n\r\nsecond\r\n"))
    }

    @Test func customComposerIsUsed() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(
            directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test",
            composeEmail: { reply in Array("X-Id: \(reply.id)\r\n\r\n".utf8) })
        #expect(await outbox.deliver(emailReply()) == .delivered)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: temp.path("outbox/7-email-ivanov@example.test.eml")))
        #expect(String(decoding: bytes, as: UTF8.self) == "X-Id: 7\r\n\r\n")
    }

    @Test func unwritableDirectoryIsRetry() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        // A file where the directory should be: every write fails.
        try temp.write(Array("x".utf8), to: "outbox")
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let result = await outbox.deliver(emailReply())
        guard case .retry(let reason) = result else {
            Issue.record("expected retry, got \(result)")
            return
        }
        #expect(!reason.contains("ivanov"))
    }

    @Test(arguments: [
        ("ivanov@example.test", "ivanov@example.test"),
        ("+79031234567", "+79031234567"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("Иван <i@x>", "______i@x_"),
        ("", "unknown"),
    ])
    func safeRecipients(_ recipient: String, _ expected: String) {
        #expect(FileOutboxTransport.safeRecipient(recipient) == expected)
    }
}
