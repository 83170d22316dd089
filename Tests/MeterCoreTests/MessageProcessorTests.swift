import DefaultFiles
import Foundation
import Ledger
import ReadingsGrammar
import Testing
@testable import MeterCore

@Suite struct MessageProcessorTests {
    static let grammar = try! Grammar.load(files: DefaultFiles.grammar.map { ($0.name, $0.contents) })
    static let templates = try! ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) })
    static let now = Timestamp.parse("2026-11-20T08:00:00+03:00")!.date

    let ledger = FakeLedger([
        Account(uin: "1234567", meters: ["T1"], previous: ["12000"], phones: ["+79031234567"], emails: ["owner@example.ru"]),
        Account(uin: "0012345", meters: ["T1", "T2"], previous: ["20000", "8000"]),
    ])

    func processor(policy: Policy = Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!)) -> MessageProcessor {
        var processor = MessageProcessor(
            parser: MessageParser(grammar: Self.grammar), templates: Self.templates, policy: policy,
            ownSenders: ["readings@example.test", "+79000000000"])
        // The messages' fixed times are the times of receipt (not "more than a year ago" later on).
        processor.clock = { Self.now }
        return processor
    }

    func sms(_ id: String, _ text: String, from: String? = "8 903 123-45-67", at: Date = now) -> IncomingMessage {
        IncomingMessage(channel: .sms, feed: "test", externalID: id, sender: from, text: text, receivedAt: at)
    }

    func mail(_ id: String, _ raw: String, at: Date = now) -> IncomingMessage {
        IncomingMessage(channel: .email, feed: "test", externalID: id, sender: nil, raw: Array(raw.utf8), receivedAt: at)
    }

    func run(_ message: IncomingMessage, _ processor: MessageProcessor? = nil) throws -> ProcessedMessage {
        let processor = processor ?? self.processor()
        return try processor.record(processor.prepare(message), in: ledger)
    }

    @Test func anSMSIsRecordedAndAnsweredAtItsE164Number() throws {
        let result = try run(sms("m1", "1234567 12345"))
        #expect(result.outcome.status == .accepted)
        #expect(result.outcome.results.first?.readings == ["12345"])
        #expect(ledger.messages.count == 1)
        #expect(ledger.messages.first?.sender == "+79031234567")
        #expect(ledger.submissions.map(\.values) == [["12345"]])
        #expect(ledger.submissions.first?.period == "2026-11")
        #expect(ledger.replies.first?.recipient == "+79031234567")
        #expect(ledger.replies.first?.body == "Показания приняты: 12345. Спасибо!")
        #expect(result.logLine.contains("+7903***4567"))
        #expect(!result.logLine.contains("1234567 12345"))
    }

    @Test func replayRecordsTheReplyWithTheMessageAndQueuesNothing() throws {
        var replaying = processor()
        replaying.replyState = .recorded
        let result = try run(sms("m1", "1234567 12345"), replaying)
        #expect(result.outcome.reply == "Показания приняты: 12345. Спасибо!")
        #expect(ledger.messages.first?.reply == result.outcome.reply)
        #expect(ledger.replies.isEmpty)
    }

    @Test func aMessageSeenBeforeIsIgnoredAndNothingIsWritten() throws {
        _ = try run(sms("m1", "1234567 12345"))
        let again = try run(sms("m1", "1234567 12399"))
        #expect(again.outcome.status == .ignored)
        #expect(again.outcome.reason == .alreadySeen)
        #expect(!again.isNew)
        #expect(ledger.messages.count == 1 && ledger.replies.count == 1)
    }

    @Test(arguments: [("MTS", OutcomeReason.autoReply), ("+79000000000", .ownMessage)])
    func servicesAndOurselvesAreNeverAnswered(sender: String, reason: OutcomeReason) throws {
        let result = try run(sms("m1", "1234567 12345", from: sender))
        #expect(result.outcome.status == .ignored)
        #expect(result.outcome.reason == reason)
        #expect(result.outcome.reply == nil)
        #expect(ledger.submissions.isEmpty && ledger.replies.isEmpty)
        #expect(ledger.messages.count == 1)  // stored, so never processed twice
    }

    @Test func aShortCodeIsProcessedButCannotBeAnswered() throws {
        let result = try run(sms("m1", "1234567 12345", from: "0611"))
        #expect(result.outcome.status == .accepted)
        #expect(!result.replyQueued)
    }

    @Test func theHourlySenderLimitIgnoresTheRest() throws {
        var policy = Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!)
        policy.maxMessagesPerSenderPerHour = 3
        let processor = processor(policy: policy)
        let statuses = try (0..<5).map { n in
            try run(sms("m\(n)", "1234567 \(12001 + n)", at: Self.now.addingTimeInterval(Double(n) * 60)), processor).outcome.status
        }
        #expect(statuses == [.accepted, .accepted, .accepted, .ignored, .ignored])
        #expect(ledger.replies.count == 3)
        let later = try run(sms("m9", "1234567 12100", at: Self.now.addingTimeInterval(3 * 3600)), processor)
        #expect(later.outcome.status == .accepted)
    }

    @Test func repliesToOneNumberStayWithinTheHourlyLimitWhateverTheMessagesTimes() throws {
        var policy = Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!)
        policy.maxMessagesPerSenderPerHour = 2
        let processor = processor(policy: policy)
        // A backlog: messages stamped hours apart (each hour's count is 1), answered now.
        let results = try (0..<4).map { n in
            try run(sms("b\(n)", "1234567 \(12001 + n)", at: Self.now.addingTimeInterval(Double(n) * 7200)), processor)
        }
        #expect(results.map(\.outcome.status) == [.accepted, .accepted, .accepted, .accepted])
        #expect(ledger.submissions.count == 4)  // every reading is recorded
        #expect(results.map(\.replyQueued) == [true, true, false, false])
        #expect(ledger.replies.count == 2)
        // Another number is not held back by this one.
        let other = try run(sms("o1", "0012345 20001 8001", from: "+79031112233"), processor)
        #expect(other.replyQueued)
    }

    @Test(arguments: ["8 (900) 000-00-00", "+7 900 000 00 00", "9000000000"])
    func ourOwnNumberIsRecognisedHoweverItIsWritten(sender: String) throws {
        let result = try run(sms("m1", "1234567 12345", from: sender))
        #expect(result.outcome.reason == .ownMessage)
        #expect(ledger.replies.isEmpty)
    }

    @Test func anImplausibleIncreaseIsHeldAndRecorded() throws {
        let result = try run(sms("m1", "1234567 99999"))
        #expect(result.outcome.status == .held)
        #expect(result.outcome.reason == .implausible)
        #expect(ledger.submissions.first?.status == "held")
        #expect(result.outcome.reply == "Показания 99999 получены и будут проверены.")
    }

    @Test func nothingReadableIsRejectedUnparsedWithAReply() throws {
        let result = try run(sms("m1", "Как передать показания?"))
        #expect(result.outcome.status == .rejected)
        #expect(result.outcome.reason == .unparsed)
        #expect(result.outcome.results.isEmpty)
        #expect(result.outcome.reply?.isEmpty == false)
        #expect(ledger.submissions.isEmpty)
    }

    @Test func anOversizeSMSIsTooLarge() throws {
        var policy = Policy()
        policy.maxMessageBytes = 2048
        let result = try run(sms("m1", "1234567 12345 " + String(repeating: "x", count: 4096)), processor(policy: policy))
        #expect(result.outcome.reason == .tooLarge)
    }

    static let header = "From: Иван <Owner@Example.ru>\r\nTo: readings@example.test\r\nMessage-ID: <m1@example.ru>\r\n"

    /// A subject and a body that give other readings are two readings of one message: ambiguous.
    @Test func aSubjectAndABodyThatDisagreeAreAmbiguous() throws {
        let raw = Self.header + "Subject: Re: 1234567 12345\r\n\r\n1234567 12399\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.status == .rejected)
        #expect(result.outcome.reason == .ambiguous)
        #expect(ledger.submissions.isEmpty)
    }

    /// A line right after a long '>' line may be the quote's wrapped continuation or the
    /// sender's answer: its other numbers make the message ambiguous, never a reading.
    @Test func aLineThatMayBeQuotedMakesOtherNumbersAmbiguous() throws {
        let body = "1234567 12345\r\n\r\n> Добрый день! Напоминаем, что показания по лицевому счету 1234567 за октябрь были\r\n12200\r\n"
        let result = try run(mail("e1", Self.header + "Subject: Re: Показания\r\n\r\n" + body))
        #expect(result.outcome.reason == .ambiguous)
        #expect(ledger.submissions.isEmpty)
        // The same continuation repeating the sender's own numbers changes nothing.
        let same = "1234567 12345\r\n\r\n> Добрый день! Напоминаем, что показания по лицевому счету надо передать до\r\n25 числа\r\n"
        let accepted = try run(mail("e2", Self.header.replacingOccurrences(of: "<m1@", with: "<m2@") + "Subject: Re: Показания\r\n\r\n" + same))
        #expect(accepted.outcome.status == .accepted)
    }

    /// A forward's subject is the forwarded mail's: only the sender's new text counts.
    @Test func aForwardsSubjectDoesNotCount() throws {
        let raw = Self.header + "Subject: Fwd: 1234567 12345\r\n\r\n1234567 12399\r\n\r\n---------- Forwarded message ---------\r\n1234567 12345\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.results.first?.readings == ["12399"])
    }

    @Test func theSubjectIsTriedFirst() throws {
        let raw = Self.header + "Subject: Re: 1234567 12345\r\n\r\nДобрый день, показания в теме. Иван\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.results.first?.readings == ["12345"])
        let reply = try #require(ledger.replies.first)
        #expect(reply.recipient == "owner@example.ru")
        #expect(reply.subject == "Re: показания", "the subject is ours, never the sender's text")
        #expect(reply.inReplyTo == "<m1@example.ru>")
        #expect(reply.references == ["<m1@example.ru>"])
    }

    @Test func theBodyIsUsedWhenTheSubjectHasNoReadings() throws {
        let raw = Self.header + "Subject: =?utf-8?B?0J/QvtC60LDQt9Cw0L3QuNGP?=\r\n\r\n"
            + "Добрый день!\r\nУИН 0012345\r\nдень 20100 ночь 8100\r\n\r\n> 0012345 19000 7000\r\n-- \r\nтел. 8 903 555-12-34\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.status == .accepted)
        #expect(result.outcome.results.first?.readings == ["20100", "8100"])
    }

    @Test(arguments: [
        // bottom-posting: the new text under the quote
        "20.10.2026 10:15, Показания <readings@example.test> пишет:\r\n> Показания приняты: 12100.\r\n> 1234567 12100\r\n\r\n1234567 12345\r\n",
        // top-posting
        "1234567 12345\r\n\r\n20.10.2026 10:15, Показания <readings@example.test> пишет:\r\n> 1234567 12100\r\n",
        // an unmarked earlier message after the header
        "1234567 12345\r\n\r\nOn Tue, 20 Oct 2026 at 10:15, Показания <readings@example.test> wrote:\r\n1234567 12100\r\n",
    ])
    func quotedReadingsAreNeverTaken(body: String) throws {
        let raw = Self.header + "Subject: Re: Показания приняты\r\n\r\n" + body
        let result = try run(mail("e1", raw))
        #expect(result.outcome.status == .accepted, "\(result.outcome)")
        #expect(result.outcome.results.first?.readings == ["12345"])
    }

    @Test func theSubjectsUINCombinesWithTheBodysReadings() throws {
        let raw = Self.header + "Subject: УИН 0012345\r\n\r\n20100 8100\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.results.first?.readings == ["20100", "8100"])
    }

    @Test func replyToWinsWithinTheFromDomain() throws {
        let raw = "From: a@example.ru\r\nReply-To: b@example.ru\r\nSubject: 1234567 12345\r\n\r\n"
        _ = try run(mail("e1", raw))
        #expect(ledger.replies.first?.recipient == "b@example.ru")
    }

    /// Issue 13: forged senders cannot direct replies at a third party, at ourselves, or echo a subject.
    @Test(arguments: ["victim@other.example", "readings@example.test", "READINGS@example.test"])
    func replyToAnotherDomainOrOurselvesIsNotFollowed(_ replyTo: String) throws {
        let raw = "From: a@example.ru\r\nReply-To: \(replyTo)\r\nSubject: 1234567 12345 http://phish.example/login\r\n\r\n"
        _ = try run(mail("e1", raw))
        let reply = try #require(ledger.replies.first)
        #expect(reply.recipient == "a@example.ru")
        #expect(reply.subject == "Re: показания")
        #expect(!reply.body.contains("phish"))
    }

    @Test(arguments: [
        ("Auto-Submitted: auto-replied\r\n", OutcomeReason.autoReply),
        ("Precedence: bulk\r\n", .autoReply),
        ("List-Id: <news.example.ru>\r\n", .autoReply),
        ("Return-Path: <>\r\n", .bounce),
    ])
    func automaticMailIsIgnored(header: String, reason: OutcomeReason) throws {
        let raw = header + Self.header + "Subject: 1234567 12345\r\n\r\n"
        let result = try run(mail("e1", raw))
        #expect(result.outcome.status == .ignored)
        #expect(result.outcome.reason == reason)
        #expect(ledger.replies.isEmpty && ledger.submissions.isEmpty)
    }

    @Test func ourOwnMailIsIgnored() throws {
        let raw = "From: Показания <readings@example.test>\r\nSubject: 1234567 12345\r\n\r\n"
        #expect(try run(mail("e1", raw)).outcome.reason == .ownMessage)
    }

    @Test func anOversizeMailIsTooLargeButStillAnswered() throws {
        var policy = Policy()
        policy.maxMessageBytes = 4096
        let raw = Self.header + "Subject: 1234567 12345\r\n\r\n" + String(repeating: "абвгд ", count: 2000)
        let result = try run(mail("e1", raw), processor(policy: policy))
        #expect(result.outcome.reason == .tooLarge)
        #expect(ledger.replies.first?.recipient == "owner@example.ru")
        #expect(ledger.submissions.isEmpty)
    }

    @Test func aMailGivenAsSubjectAndTextLosesItsQuotedPart() throws {
        let message = IncomingMessage(
            channel: .email, feed: "replay", externalID: "e1", sender: "Owner@Example.ru", text: "20100 8100\n\n> 0012345 1 2\n",
            subject: "Re: 0012345", receivedAt: Self.now)
        let result = try run(message)
        #expect(result.outcome.results.first?.readings == ["20100", "8100"])
    }

    @Test func aBoundSenderLearnsHowManyReadingsAreExpected() throws {
        let bound = try run(sms("m1", "1234567 12345 12", from: "+79031234567"))
        #expect(bound.outcome.reason == .countMismatch)
        #expect(bound.outcome.reply?.contains("1") == true)
        let stranger = try run(sms("m2", "0012345 20100", from: "+79039999999"))
        #expect(stranger.outcome.reply?.contains("нужно") == false)
    }
}
