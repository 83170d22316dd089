import DefaultFiles
import Foundation
import Ledger
import MailMessage
import ReadingsGrammar
import Testing
@testable import MeterCore

/// Issue 13, item 5: the per-sender hourly limit for e-mail counts only mail whose `From` the
/// receiving server authenticated; forged mail in an abonent's name has a lower limit of its
/// own and cannot spend the abonent's.
@Suite struct ForgedMailLimitTests {
    static let now = Timestamp.parse("2026-11-20T08:00:00+03:00")!.date
    static let pass = "Authentication-Results: mx.example.test; dkim=pass header.d=example.ru;\r\n spf=pass smtp.mailfrom=owner@example.ru; dmarc=pass (p=reject) header.from=example.ru\r\n"
    static let fail = "Authentication-Results: mx.example.test; spf=fail smtp.mailfrom=example.ru; dmarc=fail header.from=example.ru\r\n"

    let ledger = FakeLedger([
        Account(uin: "1234567", meters: ["T1"], previous: ["12000"], emails: ["owner@example.ru"]),
    ])

    func processor(_ authserv: [String: String] = [:]) -> MessageProcessor {
        var processor = MessageProcessor(
            parser: MessageParser(grammar: MessageProcessorTests.grammar), templates: MessageProcessorTests.templates,
            policy: Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!), ownSenders: ["readings@example.test"])
        processor.clock = { Self.now }
        processor.trustedAuthServIDs = authserv
        return processor
    }

    func mail(_ id: String, _ headers: String, subject: String, minute: Int = 0) -> IncomingMessage {
        let raw = headers + "From: Owner <owner@example.ru>\r\nTo: readings@example.test\r\nMessage-ID: <\(id)@example.ru>\r\nSubject: \(subject)\r\n\r\n"
        return IncomingMessage(
            channel: .email, feed: "readings", externalID: id, sender: nil, raw: Array(raw.utf8),
            receivedAt: Self.now.addingTimeInterval(Double(minute) * 60))
    }

    func run(_ message: IncomingMessage, _ processor: MessageProcessor) throws -> Outcome {
        try processor.record(processor.prepare(message), in: ledger).outcome
    }

    @Test("20 forged mails (no auth pass) from an abonent's address, then a real authenticated one: the real one is recorded",
          arguments: ["", fail, "Authentication-Results: mx.example.test; none\r\n"])
    func forgedMailDoesNotSpendTheAbonentsLimit(_ forgedHeader: String) throws {
        let processor = processor()
        var limited = 0
        for index in 0..<20 {
            let outcome = try run(mail("forged\(index)", forgedHeader, subject: "1234567 \(12_000 + index)", minute: index), processor)
            if outcome.reason == .rateLimited { limited += 1 }
        }
        let quarter = processor.policy.maxUnauthenticatedMessagesPerSenderPerHour
        #expect(quarter == 5)
        #expect(limited == 20 - quarter, "forged mail has its own, lower limit: \(quarter) an hour")
        #expect(ledger.messages.filter { $0.senderAuthenticated == false }.count == 20)

        let real = try run(mail("real", Self.pass, subject: "1234567 12100", minute: 21), processor)
        #expect(real.status == .accepted, "\(real)")
        #expect(ledger.messages.last?.senderAuthenticated == true)
        #expect(ledger.submissions.last?.values == ["12100"])
    }

    @Test("authenticated mail still has the full limit (20 an hour), and forged mail does not use it up")
    func authenticatedMailKeepsItsLimit() throws {
        let processor = processor()
        for index in 0..<20 {
            let outcome = try run(mail("real\(index)", Self.pass, subject: "1234567 \(12_000 + index)", minute: index), processor)
            #expect(outcome.reason != .rateLimited, "\(index): \(outcome)")
        }
        let over = try run(mail("real20", Self.pass, subject: "1234567 12100", minute: 30), processor)
        #expect(over.reason == .rateLimited)
        // Unauthenticated mail counts on its own: still allowed.
        let forged = try run(mail("forged", "", subject: "1234567 12200", minute: 31), processor)
        #expect(forged.reason != .rateLimited)
    }

    @Test("only the receiving server's Authentication-Results counts: the topmost one, or the one of the mailbox's authserv_id")
    func whichHeaderIsBelieved() throws {
        // The sender's own "pass" below the receiving server's "fail": not authenticated.
        let planted = Self.fail + "Authentication-Results: mx.example.test; dmarc=pass header.from=example.ru\r\n"
        #expect(processor().prepare(mail("a", planted, subject: "x")).senderAuthenticated == false)
        // A pass on top (written, say, by a relay before the receiving server did not write one).
        #expect(processor().prepare(mail("b", Self.pass, subject: "x")).senderAuthenticated == true)
        // With the mailbox's authserv_id, only that server's results count, wherever they are.
        let relayOnTop = "Authentication-Results: relay.evil.example; dmarc=pass header.from=example.ru\r\n" + Self.fail
        #expect(processor(["readings": "mx.example.test"]).prepare(mail("c", relayOnTop, subject: "x")).senderAuthenticated == false)
        #expect(processor().prepare(mail("c", relayOnTop, subject: "x")).senderAuthenticated == true, "without authserv_id the topmost counts")
        let ownBelow = "Authentication-Results: relay.evil.example; dmarc=fail\r\n" + Self.pass
        #expect(processor(["readings": "MX.example.test"]).prepare(mail("d", ownBelow, subject: "x")).senderAuthenticated == true)
        // Another feed's authserv_id does not apply to this one.
        #expect(processor(["other": "mx.example.test"]).prepare(mail("e", relayOnTop, subject: "x")).senderAuthenticated == true)
    }

    @Test("a pass for another domain is no pass for the From domain", arguments: [
        "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=bounce@evil.example; dmarc=none\r\n",
        "Authentication-Results: mx.example.test; dmarc=pass header.from=evil.example\r\n",
        "Authentication-Results: mx.example.test; spf=pass smtp.helo=example.ru\r\n",
        "Authentication-Results: mx.example.test; dkim=pass header.d=example.ru\r\n",
        "Authentication-Results: mx.example.test; spf=softfail smtp.mailfrom=example.ru; dmarc=temperror\r\n",
        "Authentication-Results: mx.example.test (dmarc=pass header.from=example.ru); spf=neutral\r\n",
    ])
    func passForAnotherDomain(_ header: String) throws {
        #expect(processor().prepare(mail("x", header, subject: "x")).senderAuthenticated == false, "\(header)")
    }

    @Test("SMS and mail given without its raw form (a replay line's subject/text) keep the one limit, as before")
    func noNotionOfAuthentication() throws {
        let processor = processor()
        let sms = IncomingMessage(channel: .sms, feed: "s", externalID: "s1", sender: "+79031234567", text: "1234567 12100", receivedAt: Self.now)
        #expect(processor.prepare(sms).senderAuthenticated == nil)
        let line = IncomingMessage(channel: .email, feed: "replay", externalID: "r1", sender: "owner@example.ru", text: "", subject: "1234567 12100", receivedAt: Self.now)
        #expect(processor.prepare(line).senderAuthenticated == nil)
        for index in 0..<20 {
            let message = IncomingMessage(
                channel: .email, feed: "replay", externalID: "r\(index)", sender: "owner@example.ru", text: "",
                subject: "1234567 \(12_000 + index)", receivedAt: Self.now.addingTimeInterval(Double(index)))
            #expect(try run(message, processor).reason != .rateLimited)
        }
    }
}
