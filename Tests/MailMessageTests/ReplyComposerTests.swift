import Foundation
import Testing
@testable import MailMessage

struct ReplyComposerTests {
    let composer = ReplyComposer(from: "Показания <readings@example.test>")
    let date = Date(timeIntervalSince1970: 1_795_165_200)   // 2026-11-20 09:00:00 UTC, a Friday

    func compose(subject: String = "Re: Показания 1234567 12345", body: String = "Показания приняты: 12345. Спасибо!") -> [UInt8] {
        composer.compose(to: "Иван Петров <ivan@Example.RU>", subject: subject, body: body,
                         inReplyTo: "<orig@example.ru>", references: ["<a@x>", "<orig@example.ru>"],
                         messageID: "<reply.1@example.test>", date: date)
    }

    @Test func roundTrip() {
        let bytes = compose()
        let m = MailMessage(raw: bytes)
        #expect(m.subject == "Re: Показания 1234567 12345")
        #expect(m.bodyText == "Показания приняты: 12345. Спасибо!\n")
        #expect(m.messageID == "<reply.1@example.test>")
        #expect(m.references == ["<a@x>", "<orig@example.ru>"])
        #expect(m.header("in-reply-to") == "<orig@example.ru>")
        #expect(m.automatic == .autoReplied)
        #expect(m.from == MailAddress(address: "readings@example.test", displayName: "Показания"))
        #expect(m.header("to") == "Иван Петров <ivan@example.ru>")
        #expect(m.header("date") == "Fri, 20 Nov 2026 09:00:00 +0000")
        #expect(m.header("content-type") == "text/plain; charset=utf-8")
        #expect(m.header("mime-version") == "1.0")
        #expect(m.defects.isEmpty)
    }

    @Test func crlfOnlyAndLineLengths() {
        let long = String(repeating: "Очень длинная тема письма с показаниями ", count: 6)
        let body = String(repeating: "строка с показаниями 12345 ", count: 20) + "\nвторая строка\n\nконец"
        let bytes = compose(subject: long, body: body)
        // Every LF is preceded by CR, no bare CR.
        for (i, b) in bytes.enumerated() {
            if b == 0x0A { #expect(i > 0 && bytes[i - 1] == 0x0D) }
            if b == 0x0D { #expect(i + 1 < bytes.count && bytes[i + 1] == 0x0A) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let headerLines = parts[0].components(separatedBy: "\r\n")
        #expect(headerLines.allSatisfy { $0.utf8.count <= 78 }, "\(headerLines)")
        let bodyLines = parts.dropFirst().joined(separator: "\r\n\r\n").components(separatedBy: "\r\n")
        #expect(bodyLines.allSatisfy { $0.utf8.count <= 76 })
        #expect(bytes.allSatisfy { $0 < 0x80 })   // 7-bit clean
        let m = MailMessage(raw: bytes)
        #expect(m.subject == long.trimmingCharacters(in: .whitespaces))
        #expect(m.bodyText == body + "\n")
    }

    @Test func asciiSubjectFoldedAtSpaces() {
        let subject = (1...30).map { "word\($0)" }.joined(separator: " ")
        let bytes = compose(subject: subject)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(MailMessage(raw: bytes).subject == subject)
    }

    @Test func headerInjectionIsNeutralised() {
        let bytes = composer.compose(to: "a@b.c\r\nBcc: victim@x", subject: "x\r\nBcc: victim@x", body: "b",
                                     inReplyTo: "<i@x>\nBcc: v@x", references: [], messageID: "<m@x>", date: date)
        let m = MailMessage(raw: bytes)
        #expect(m.header("bcc") == nil)
        #expect(m.headers.filter { $0.name.lowercased() == "to" }.count == 1)
    }

    @Test func asciiDisplayNameQuotedWhenNeeded() {
        let c = ReplyComposer(from: "Meter Readings, Inc. <r@x.test>")
        #expect(c.fromHeader == "\"Meter Readings, Inc.\" <r@x.test>")
        #expect(ReplyComposer(from: "r@x.test").fromHeader == "r@x.test")
    }

    @Test func rfc5322Dates() {
        #expect(ReplyComposer.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(ReplyComposer.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(ReplyComposer.rfc5322Date(Date(timeIntervalSince1970: -1)) == "Thu, 1 Jan 1970 00:00:00 +0000")   // clamped
        #expect(ReplyComposer.rfc5322Date(Date.distantFuture) == "Mon, 1 Jan 4001 00:00:00 +0000")
        #expect(ReplyComposer.rfc5322Date(Date(timeIntervalSince1970: .infinity)) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(ReplyComposer.rfc5322Date(Date(timeIntervalSince1970: 1e300)) == "Fri, 31 Dec 9999 23:59:59 +0000")
    }
}
