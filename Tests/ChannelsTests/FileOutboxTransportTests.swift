import Foundation
import Testing
@testable import Channels
import MailMessage
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
        // Every line ends in CRLF: no bare LF anywhere.
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        // The message SMTP would send (one composer), dated when the reply was created.
        #expect(bytes == ReplyComposer(from: "Показания <readings@example.test>").compose(emailReply(), date: created))
        let mail = MailMessage(raw: bytes)
        #expect(mail.from == MailAddress(address: "readings@example.test", displayName: "Показания"))
        #expect(mail.header("to") == "ivanov@example.test")
        #expect(mail.header("date") == "Fri, 20 Nov 2026 08:15:00 +0000")
        #expect(mail.messageID == "<reply.7.1795162500@example.test>")
        #expect(mail.header("in-reply-to") == "<abc@mail.example.test>")
        #expect(mail.references == ["<first@x>", "<abc@mail.example.test>"], "ids without brackets get them")
        #expect(mail.automatic == .autoReplied)
        #expect(mail.subject == emailReply().subject)
        #expect(mail.bodyText == "Показания приняты: 123456 7890.\nСпасибо!\n")
        #expect(mail.defects.isEmpty)
    }

    @Test func aReplyWithoutSubjectGetsOurs() async throws {
        var reply = emailReply()
        reply.subject = nil
        let mail = MailMessage(raw: ReplyComposer(from: "r@example.test").compose(reply, date: created))
        #expect(mail.subject == OutgoingReply.emailSubject)
        #expect(mail.messageID == "<reply.7.1795162500@example.test>")
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
        #expect(!reason.description.contains("ivanov"))
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
