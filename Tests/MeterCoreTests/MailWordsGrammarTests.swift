import DefaultFiles
import Foundation
import Ledger
import MailMessage
import ReadingsGrammar
import Testing
@testable import MeterCore

/// The mail reader's word lists come from the grammar files (`Grammars/mail.grammar` and the
/// `quote_intro` words), so an operator changes them without a rebuild; a folder without them
/// keeps the built-in lists.
@Suite struct MailWordsGrammarTests {
    static let builtInFiles = DefaultFiles.grammar.map { ($0.name, $0.contents) }
    static let templates = try! ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) })
    static let now = Timestamp.parse("2026-11-20T08:00:00+03:00")!.date

    let ledger = FakeLedger([Account(uin: "1234567", meters: ["T1"], previous: ["12000"], emails: ["owner@example.ru"])])

    func processor(_ files: [(String, String)]) throws -> MessageProcessor {
        var processor = MessageProcessor(
            parser: MessageParser(grammar: try Grammar.load(files: files)), templates: Self.templates,
            policy: Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!), ownSenders: ["readings@example.test"])
        processor.clock = { Self.now }
        return processor
    }

    func mail(_ subject: String, _ body: String) -> IncomingMessage {
        let raw = "From: Owner <owner@example.ru>\r\nTo: readings@example.test\r\nSubject: \(subject)\r\n"
            + "Message-ID: <m1@example.ru>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(body)"
        return IncomingMessage(channel: .email, feed: "test", externalID: "m1", sender: nil, raw: Array(raw.utf8), receivedAt: Self.now)
    }

    @Test func theShippedGrammarCarriesTheMailLists() throws {
        let grammar = try Grammar.load(files: Self.builtInFiles)
        for key in Grammar.mailListKeys {
            #expect(!(grammar.mailLists[key] ?? []).isEmpty, "\(key) missing from the shipped grammar")
        }
        let words = MailWords(grammar: grammar)
        // The shipped file says what the built-in copy says (trailing spaces aside).
        #expect(Set(words.footers) == Set(MailWords.builtIn.footers.map { $0.trimmingCharacters(in: .whitespaces) }))
        #expect(words.separators == MailWords.builtIn.separators)
        #expect(Set(words.quoteVerbs) == Set(MailWords.builtIn.quoteVerbs))
        #expect(Set(words.autoReplySubjects) == Set(MailWords.builtIn.autoReplySubjects))
    }

    /// An operator adds a footer of their region's mail app: the line and what follows stop
    /// counting (here the earlier readings under it would otherwise make the mail ambiguous).
    @Test func anOperatorsFooterWordEndsTheSendersText() throws {
        let body = "1234567 12345\r\nОтправлено из ПочтаКрай\r\n1234567 12999\r\n"
        let before = try processor(Self.builtInFiles)
        let plain = try before.record(before.prepare(mail("показания", body)), in: ledger)
        #expect(plain.outcome.status != .accepted || plain.outcome.results.first?.readings != ["12999"])
        var files = Self.builtInFiles
        files.append(("zz-local.grammar", "mail_footer: отправлено из почтакрай\n"))
        // A list key given twice adds to the list.
        let after = try processor(files)
        #expect(after.mailWords.footers.contains("отправлено из почтакрай"))
        #expect(after.mailWords.footers.contains("sent from my"))
        let cut = try after.record(after.prepare(mail("показания", body)), in: FakeLedger(Array(ledger.accounts.values)))
        #expect(cut.outcome.status == .accepted)
        #expect(cut.outcome.results.first?.readings == ["12345"])
    }

    /// A quote verb of another language, added to `quote_intro`, closes an attribution that has
    /// no date (which the shape alone would not take): the quoted reading below is not read.
    @Test func aQuoteVerbFromTheGrammarEndsTheNewText() throws {
        let body = "1234567 12400\r\n\r\nJan Kowalski kirjutas:\r\n1234567 12350\r\n"
        var files = Self.builtInFiles.filter { $0.0 != "noise.grammar" }
        let noise = try #require(Self.builtInFiles.first { $0.0 == "noise.grammar" }?.1)
        files.append(("noise.grammar", noise.replacingOccurrences(of: "quote_intro: пишет,", with: "quote_intro: kirjutas, пишет,")))
        let withVerb = try processor(files)
        let result = try withVerb.record(withVerb.prepare(mail("показания", body)), in: ledger)
        #expect(result.outcome.status == .accepted)
        #expect(result.outcome.results.first?.readings == ["12400"])
        // Without the verb the line is not an attribution, and the two readings disagree:
        // never the quoted one alone.
        let without = try processor(Self.builtInFiles)
        let other = try without.record(without.prepare(mail("показания", body)), in: FakeLedger(Array(ledger.accounts.values)))
        #expect(other.outcome.results.first?.readings != ["12350"])
    }

    /// An auto-reply subject of the operator's own responder is `ignored`, never recorded.
    @Test func anAutoReplySubjectFromTheGrammarIsIgnored() throws {
        var files = Self.builtInFiles
        files.append(("zz-local.grammar", "auto_reply_subject: ответ робота\n"))
        let processor = try processor(files)
        let result = try processor.record(processor.prepare(mail("Ответ робота: 1234567 12345", "1234567 12345")), in: ledger)
        #expect(result.outcome.status == .ignored)
        #expect(ledger.submissions.isEmpty)
    }

    @Test func aMailListTakesNoArgument() {
        #expect(throws: GrammarError.self) { try Grammar.load(files: [("a.grammar", "mail_footer x: sent from\n")]) }
    }
}
