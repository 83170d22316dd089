import DefaultFiles
import Foundation
import Ledger
import ReadingsGrammar
import Testing
@testable import MeterCore

/// Corrections within a period and the history (contract §5, §6), through the processor over
/// the fake ledger; the same cases run over SQLite through `replay` in MetergateTests.
@Suite struct CorrectionsAndHistoryTests {
    static let grammar = try! Grammar.load(files: DefaultFiles.grammar.map { ($0.name, $0.contents) })
    static let templates = try! ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) })
    static let now = Timestamp.parse("2026-11-20T08:00:00+03:00")!.date

    let ledger = FakeLedger([
        Account(uin: "1234567", meters: ["T1"], previous: ["12000"], phones: ["+79031234567"], emails: ["owner@example.ru"]),
        Account(uin: "7654321", meters: ["T1", "T2"], previous: ["20000", "8000"], phones: ["+79035550000"]),
        Account(uin: "0012345", meters: ["T1"], previous: ["500"]),
    ])

    func processor() -> MessageProcessor {
        var processor = MessageProcessor(
            parser: MessageParser(grammar: Self.grammar), templates: Self.templates,
            policy: Policy(submissionDays: 1...25, timeZone: TimeZone(identifier: "Europe/Moscow")!))
        // The time of receipt: after every message's own time (a week later than a stated time
        // would be replaced by it).
        processor.clock = { Timestamp.parse("2026-11-28T08:00:00+03:00")!.date }
        return processor
    }

    @discardableResult
    func sms(_ id: String, _ text: String, from: String = "+79031234567", at: Date = now) throws -> Outcome {
        let processor = processor()
        return try processor.record(
            processor.prepare(IncomingMessage(channel: .sms, feed: "t", externalID: id, sender: from, text: text, receivedAt: at)),
            in: ledger).outcome
    }

    /// The submissions that count (not superseded), as "uin=values status".
    var standing: [String] {
        ledger.submissions.enumerated().filter { ledger.supersededBy[$0.offset] == nil }
            .map { "\($0.element.uin)=\($0.element.values.joined(separator: ";")) \($0.element.status)" }
    }

    @Test func aTypoFixedByALowerCorrectionReplacesIt() throws {
        try sms("1", "1234567 12500")
        let fixed = try sms("2", "1234567 12400")
        #expect(fixed.status == .accepted)
        #expect(fixed.results.first?.replaces == ["12500"])
        #expect(fixed.reply == "Принято: 12500 → 12400")
        #expect(fixed.jsonLine.contains(#""readings":["12400"],"replaces":["12500"]"#))
        #expect(standing == ["1234567=12400 accepted"])
        // And back again: the latest counts, the first one's values are no duplicate.
        let back = try sms("3", "1234567 12500")
        #expect(back.status == .accepted && back.results.first?.replaces == ["12400"])
        #expect(standing == ["1234567=12500 accepted"])
    }

    @Test func aCorrectionBelowLastPeriodsReadingIsDecreasing() throws {
        try sms("1", "1234567 12500")
        let low = try sms("2", "1234567 11999")
        #expect(low.status == .rejected && low.reason == .decreasing)
        #expect(low.reply == "Показания 11999 меньше прежних. Проверьте их.", "a bound sender gets the precise reply")
        #expect(standing == ["1234567=12500 accepted"])
        // The max_increase hold is measured from the period before too.
        let far = try sms("3", "1234567 17001")
        #expect(far.status == .held && far.reason == .implausible)
    }

    @Test func theSameReadingsTwiceAreADuplicate() throws {
        try sms("1", "1234567 12500")
        let again = try sms("2", "1234567 12500")
        #expect(again.status == .duplicate && again.results.first?.replaces == nil)
        #expect(standing == ["1234567=12500 accepted", "1234567=12500 duplicate"])
    }

    @Test func aCorrectionByAnUnboundOtherSenderIsHeld() throws {
        try sms("1", "1234567 12500")
        let stranger = try sms("2", "1234567 12600", from: "+79990000000")
        #expect(stranger.status == .held && stranger.reason == .unverifiedCorrection)
        #expect(stranger.results.first?.replaces == nil)
        #expect(stranger.reply == "Показания 12600 получены и будут проверены.", "nothing stored is named")
        #expect(!stranger.reply!.contains("12500"))
        #expect(standing == ["1234567=12500 accepted", "1234567=12600 held"])
        // The owner's own correction then counts, and the stranger's waits no longer.
        let owner = try sms("3", "1234567 12450")
        #expect(owner.status == .accepted && owner.results.first?.replaces == ["12500"])
        #expect(standing == ["1234567=12450 accepted"])
    }

    @Test func anUnboundFirstSubmissionIsMarkedAndABoundSenderReplacesItWithoutReview() throws {
        let first = try sms("1", "1234567 19000", from: "+79990000000")
        #expect(first.status == .held, "19000 is 7000 over the previous 12000: implausible")
        let other = try sms("2", "1234567 12900", from: "+79990000000")
        #expect(other.status == .accepted && other.results.first?.replaces == ["19000"], "its own sender corrects it")
        #expect(ledger.submissions.last?.senderBound == false, "recorded and marked: the sender is not bound to the account")
        let owner = try sms("3", "1234567 12300")
        #expect(owner.status == .accepted && owner.results.first?.replaces == ["12900"], "a bound sender replaces it without review")
        #expect(ledger.submissions.last?.senderBound == true)
        #expect(standing == ["1234567=12300 accepted"])
        // An account that binds nobody: the mark is absent.
        try sms("4", "0012345 600", from: "+79990000000")
        #expect(ledger.submissions.last?.senderBound == nil)
    }

    @Test func aCorrectionAfterThePeriodsWindowCountsForTheNextPeriod() throws {
        try sms("1", "1234567 12500")
        let late = Timestamp.parse("2026-11-27T10:00:00+03:00")!.date  // after day 25: December's period
        let lower = try sms("2", "1234567 12400", at: late)
        #expect(lower.status == .rejected && lower.reason == .decreasing, "checked against November's 12500")
        let next = try sms("3", "1234567 12600", at: late)
        #expect(next.status == .accepted && next.results.first?.replaces == nil)
        #expect(ledger.submissions.map(\.period) == ["2026-11", "2026-12"])
        #expect(standing == ["1234567=12500 accepted", "1234567=12600 accepted"])
    }

    @Test func historyToABoundSender() throws {
        let none = try sms("1", "история 1234567")
        #expect(none.status == .answered && none.results.map(\.uin) == ["1234567"])
        #expect(none.reply == "По УИН 1234567 принятых показаний пока нет.")
        try sms("2", "1234567 12500")
        try sms("3", "1234567 12400")
        let asked = try sms("4", "История")
        #expect(asked.status == .answered)
        #expect(asked.reply == "УИН 1234567: 12400 приняты 20.11.2026", "the word alone: the one account bound to this address")
        #expect(try sms("5", "1234567 ?").reply == "УИН 1234567: 12400 приняты 20.11.2026")
        #expect(ledger.submissions.count == 2, "nothing recorded")
        #expect(ledger.messages.last?.status == "answered")
    }

    @Test func historyToAnUnboundSenderRevealsNothing() throws {
        try sms("1", "1234567 12500")
        let known = try sms("2", "история 1234567", from: "+79990000000")
        let unknown = try sms("3", "история 9999999", from: "+79990000000")
        #expect(known.status == .answered && unknown.status == .answered)
        #expect(known.reply == "История показаний - только на телефон и e-mail из договора.")
        #expect(unknown.reply == known.reply, "an unknown UIN gets the same text: no oracle")
        #expect(!known.reply!.contains("12500"))
        let alone = try sms("4", "история", from: "+79990000000")
        #expect(alone.status == .answered && alone.results.isEmpty && alone.reply == known.reply)
    }

    @Test func historyWithoutAUINFromASenderBoundToTwoAccounts() throws {
        // +79031234567 is bound to 1234567 and 7654321: asked which one.
        let processor = processor()
        let prepared = processor.prepare(IncomingMessage(channel: .sms, feed: "t", externalID: "1", sender: "89031234567", text: "история", receivedAt: Self.now))
        ledger.accounts["7654321"]?.phones.append("+79031234567")
        let asked = try processor.record(prepared, in: ledger).outcome
        #expect(asked.status == .answered && asked.results.isEmpty)
        #expect(asked.reply == "Укажите УИН: история УИН")
        let mail = try processor.record(processor.prepare(IncomingMessage(
            channel: .email, feed: "t", externalID: "2", sender: "owner@example.ru", text: "", subject: "история",
            receivedAt: Self.now)), in: ledger).outcome
        #expect(mail.reply == "Здравствуйте! По УИН 1234567 принятых показаний пока нет.", "the address is bound to one account")
    }

    @Test func aHistoryWordBesideReadingsIsASubmission() throws {
        let outcome = try sms("1", "история 1234567 12500")
        #expect(outcome.status == .accepted)
    }

    @Test func historyRequestsCountAgainstTheHourlyLimit() throws {
        for n in 0..<20 { try sms("h\(n)", "история 1234567") }
        let over = try sms("h20", "история 1234567")
        #expect(over.status == .ignored && over.reason == .rateLimited && over.reply == nil)
    }

    @Test func checkConfigRefusesHistoryTemplatesThatRevealOrOverflow() throws {
        #expect(throws: ReplyTemplates.Problem.self) {
            try ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) } + [
                ("extra.txt", "email.history = {readings} от {date}"),
            ])
        }
        #expect(throws: ReplyTemplates.Problem.self) {
            try ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) } + [("extra.txt", "held.bound = было {replaced}")])
        }
        var files = DefaultFiles.templates.map { ($0.name, $0.contents) }
        files = files.map { ($0.0, $0.1.replacingOccurrences(of: "accepted.correction      = Принято: {replaced} → {readings}", with: "accepted.correction = Показания исправлены: {replaced} на {readings}")) }
        let long = try ReplyTemplates.load(files: files)
        #expect(long.problemsForSMS().map(\.reason).contains { $0.contains("accepted.correction") })
        #expect(Self.templates.problemsForSMS().isEmpty, "the shipped templates fit one segment")
    }
}
