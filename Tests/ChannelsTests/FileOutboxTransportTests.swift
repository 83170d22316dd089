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

    @Test func aBatchIsWrittenAndReportedInOrder() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let replies = (1...40).map { index in
            index.isMultiple(of: 2)
                ? emailReply(id: Int64(index), body: "reply \(index)")
                : OutgoingReply(id: Int64(index), channel: .sms, recipient: "+7903\(index)", body: "sms \(index)", createdAt: created)
        }
        let results = await outbox.deliver(batch: replies)
        #expect(results == Array(repeating: .delivered, count: 40))
        let names = try temp.names(in: "outbox")
        #expect(names.count == 40)
        #expect(!names.contains { $0.hasPrefix(".tmp-") }, "no temporary file is left")
        #expect(Set(names) == Set(replies.map(FileOutboxTransport.fileName(for:))))
        let sms = try String(contentsOfFile: temp.path("outbox/3-sms-+79033.txt"), encoding: .utf8)
        #expect(sms == "sms 3")
        let mail = try String(contentsOfFile: temp.path("outbox/8-email-ivanov@example.test.eml"), encoding: .utf8)
        #expect(mail.hasSuffix("\r\n\r\nreply 8\r\n"))
        #if os(Linux)
        #expect(LocalFiles.canSyncFileSystem, "glibc's syncfs is found: one sync a batch")
        #endif
    }

    @Test func oneFileThatCannotBePlacedIsRetryTheOthersDelivered() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let blocked = OutgoingReply(id: 2, channel: .sms, recipient: "+79030000002", body: "two", createdAt: created)
        // A non-empty folder where reply 2's file should go: its rename fails.
        try temp.write(Array("x".utf8), to: "outbox/\(FileOutboxTransport.fileName(for: blocked))/inside")
        let replies = [
            OutgoingReply(id: 1, channel: .sms, recipient: "+79030000001", body: "one", createdAt: created),
            blocked,
            OutgoingReply(id: 3, channel: .sms, recipient: "+79030000003", body: "three", createdAt: created),
        ]
        let results = await outbox.deliver(batch: replies)
        #expect(results.count == 3)
        #expect(results[0] == .delivered)
        #expect(results[2] == .delivered)
        guard case .retry(let reason) = results[1] else {
            Issue.record("expected retry, got \(results[1])")
            return
        }
        #expect(!reason.description.contains("+7903"), "no recipient in the failure")
        #expect(try temp.names(in: "outbox").sorted() == ["1-sms-+79030000001.txt", "2-sms-+79030000002.txt", "3-sms-+79030000003.txt"])
        #expect(try String(contentsOfFile: temp.path("outbox/3-sms-+79030000003.txt"), encoding: .utf8) == "three")
        #expect(!FileManager.default.fileExists(atPath: temp.path("outbox/.tmp-2")), "the failed temporary file is removed")
    }

    @Test func aBatchDeliveredTwiceGivesTheSameFilesOnce() async throws {
        // A crash after the sync but before the ledger's mark: the batch comes again.
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let replies = (1...5).map { emailReply(id: Int64($0), body: "reply \($0)") }
        #expect(await outbox.deliver(batch: replies) == Array(repeating: .delivered, count: 5))
        let first = try temp.names(in: "outbox").sorted()
        #expect(await outbox.deliver(batch: replies) == Array(repeating: .delivered, count: 5))
        #expect(try temp.names(in: "outbox").sorted() == first)
        #expect(first.count == 5)
    }

    @Test func anUnwritableFolderFailsTheWholeBatchAsRetry() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        try temp.write(Array("x".utf8), to: "outbox")
        let outbox = FileOutboxTransport(directory: temp.url.appendingPathComponent("outbox"), from: "r@example.test")
        let results = await outbox.deliver(batch: [emailReply(id: 1), emailReply(id: 2)])
        #expect(results.count == 2)
        for result in results {
            guard case .retry = result else {
                Issue.record("expected retry, got \(result)")
                continue
            }
        }
        #expect(await outbox.deliver(batch: []) == [])
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
