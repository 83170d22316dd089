import DefaultFiles
import Foundation
import Testing
@testable import MeterCore

@Suite struct RepliesTests {
    static let builtIn = try! ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) })

    @Test func builtInTemplatesFitOneSMSSegment() {
        #expect(Self.builtIn.problemsForSMS().isEmpty)
    }

    static let outcomes: [Outcome] = OutcomeReason.rejections.map { reason in
        Outcome(id: "x", status: .rejected, reason: reason,
                results: reason == .unparsed || reason == .tooLarge ? [] :
                    [SubmissionOutcome(uin: "123456789012", status: .rejected, reason: reason, readings: ["123456.7", "23456"])],
                reply: nil)
    } + [
        Outcome(id: "a", status: .accepted, reason: nil, results: [SubmissionOutcome(uin: "1", status: .accepted, readings: ["12345", "6789"])], reply: nil),
        Outcome(id: "d", status: .duplicate, reason: nil, results: [SubmissionOutcome(uin: "1", status: .duplicate, readings: ["12345"])], reply: nil),
        Outcome(id: "h", status: .held, reason: .implausible, results: [SubmissionOutcome(uin: "1", status: .held, reason: .implausible, readings: ["99999"])], reply: nil),
    ]

    @Test(arguments: outcomes)
    func everyOutcomeHasAnSMSReplyOfOneSegment(_ outcome: Outcome) throws {
        let reply = try #require(Self.builtIn.render(outcome, channel: .sms, bound: false))
        #expect(!reply.isEmpty)
        #expect(SMSText.fitsOneSegment(reply))
        let email = try #require(Self.builtIn.render(outcome, channel: .email, bound: false))
        #expect(!email.isEmpty)
    }

    @Test func confirmationNamesTheValues() {
        let reply = Self.builtIn.render(Self.outcomes.first { $0.status == .accepted }!, channel: .sms, bound: false)
        #expect(reply == "Показания приняты: 12345, 6789. Спасибо!")
    }

    @Test func ignoredGetsNoReply() {
        let outcome = Outcome(id: "i", status: .ignored, reason: .autoReply, results: [], reply: nil)
        #expect(Self.builtIn.render(outcome, channel: .email, bound: true) == nil)
    }

    @Test func accountDataOnlyForABoundSender() {
        let outcome = Outcome(id: "c", status: .rejected, reason: .countMismatch,
                              results: [SubmissionOutcome(uin: "1112222", status: .rejected, reason: .countMismatch, readings: ["1"], expectedCount: 3)],
                              reply: nil)
        let stranger = Self.builtIn.render(outcome, channel: .sms, bound: false)!
        let owner = Self.builtIn.render(outcome, channel: .sms, bound: true)!
        #expect(!stranger.contains("3"))
        #expect(owner.contains("3"))
    }

    @Test func manyUINsInOneSMSFallBackToASummary() {
        let results = (1...5).map { SubmissionOutcome(uin: "12345678901\($0)", status: .accepted, readings: ["123456", "654321"]) }
        let outcome = Outcome(id: "m", status: .accepted, reason: nil, results: results, reply: nil)
        let reply = Self.builtIn.render(outcome, channel: .sms, bound: false)!
        #expect(SMSText.fitsOneSegment(reply))
        #expect(reply.contains("5"))
    }

    @Test(arguments: [
        ("accepted = x\n", "missing template"),
        ("accepted = Приняты {readngs}\n", "unknown placeholder {readngs}"),
        ("acepted = x\n", "unknown template key 'acepted'"),
        ("accepted\n", "expected 'key = text'"),
        ("accepted = \n", "is empty"),
        ("rejected.count_mismatch = нужно {expected}\n", "'.bound'"),
    ])
    func brokenTemplatesAreRefusedWithFileAndLine(text: String, reason: String) {
        do {
            _ = try ReplyTemplates.load(files: [("replies.txt", "# comment\n" + text)])
            Issue.record("accepted a broken template file")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            if !reason.hasPrefix("missing") { #expect(error.description.hasPrefix("replies.txt:2:")) }
        }
    }

    @Test func tooLongSMSTemplateIsReported() throws {
        var text = DefaultFiles.templates.first!.contents
        text = text.replacingOccurrences(
            of: "accepted                 = Показания приняты: {readings}. Спасибо!",
            with: "accepted = Показания приняты: {readings}. Большое спасибо, что передаёте показания вовремя!")
        let templates = try ReplyTemplates.load(files: [("replies.txt", text)])
        let problems = templates.problemsForSMS()
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains("'accepted'") == true)
    }

    @Test(arguments: [
        ("Показания приняты", SMSText.Coding.ucs2, 17), ("Readings accepted", .gsm7, 17), ("a{b}", .gsm7, 6), ("€", .gsm7, 2),
        // A combining mark has no GSM-7 form; CR LF are two GSM characters; the backtick is not GSM.
        ("e\u{301}", .ucs2, 2), ("é", .gsm7, 1), ("a\r\nb", .gsm7, 4), ("`", .ucs2, 1), ("ÄÖÑÜ§¿", .gsm7, 6),
    ])
    func countsSMSLength(text: String, coding: SMSText.Coding, length: Int) {
        #expect(SMSText.coding(of: text) == coding)
        #expect(SMSText.length(of: text) == length)
    }

    @Test func oneSegmentIs160GSM7SeptetsOr70UCS2Units() {
        #expect(SMSText.fitsOneSegment(String(repeating: "a", count: 160)))
        #expect(!SMSText.fitsOneSegment(String(repeating: "a", count: 161)))
        #expect(!SMSText.fitsOneSegment(String(repeating: "a", count: 159) + "€"))  // the extension table counts 2
        #expect(SMSText.fitsOneSegment(String(repeating: "я", count: 70)))
        #expect(!SMSText.fitsOneSegment(String(repeating: "я", count: 71)))
        #expect(SMSText.length(of: "Спасибо 😀") == 10)  // an emoji is two UTF-16 units
        #expect(!SMSText.fitsOneSegment(String(repeating: "я", count: 69) + "😀"))
    }
}

@Suite struct OutcomeJSONTests {
    @Test func lineHasTheContractFieldsInOrder() throws {
        let outcome = Outcome(id: "m1", status: .held, reason: .implausible,
                              results: [SubmissionOutcome(uin: "007", status: .held, reason: .implausible, meters: ["T1"], readings: ["12345.5"])],
                              reply: "Проверим \"это\"\n")
        let line = outcome.jsonLine
        #expect(line == #"{"id":"m1","status":"held","reason":"implausible","results":[{"uin":"007","status":"held","reason":"implausible","readings":["12345.5"]}],"reply":"Проверим \"это\"\n"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["reply"] as? String == "Проверим \"это\"\n")
    }

    @Test func nullReplyAndEscapes() throws {
        let outcome = Outcome(id: "a\u{2028}b\u{1}", status: .ignored, reason: .alreadySeen, results: [], reply: nil)
        #expect(outcome.jsonLine.contains(#""reply":null"#))
        #expect(outcome.jsonLine.contains(#"a\u2028b\u0001"#))
        #expect(!outcome.jsonLine.contains("\n"))
    }
}
