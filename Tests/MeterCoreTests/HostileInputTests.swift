import DefaultFiles
import Foundation
import Ledger
import ReadingsGrammar
import Testing
@testable import MeterCore

/// Issue 13, items 1, 3, 4: numbers from outside never trap, stated times outside the window
/// are replaced by the time of receipt (and the log says so), log lines cannot be forged.
@Suite struct HostileInputTests {
    static let now = Timestamp.parse("2026-11-20T08:00:00+03:00")!.date

    /// The sweep's hostile numbers as seconds since 1970: nan, inf, -inf, -1, 1e300, 2^63,
    /// 2^64, and the two that were recorded or trapped (`99999999999999`, `9223372036854775000`).
    static let hostileSeconds: [Double] = [
        .nan, .infinity, -.infinity, -1, 1e300, -1e300, 9_223_372_036_854_775_808, 18_446_744_073_709_551_616,
        99_999_999_999_999, 9_223_372_036_854_775_000, 0,
    ]

    @Test("Policy.period never traps and always names a four-digit year", arguments: hostileSeconds)
    func periodNeverTraps(_ seconds: Double) {
        for policy in [Policy(), Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!)] {
            for offset in [nil, 0, 3 * 3600, Int.max, Int.min] as [Int?] {
                let period = policy.period(of: Date(timeIntervalSince1970: seconds), utcOffset: offset)
                #expect(period.count == 7, "\(period)")
                #expect(period.range(of: #"^[0-9]{4}-[0-9]{2}$"#, options: .regularExpression) != nil, "\(period)")
            }
        }
    }

    @Test("Timestamp.iso8601 never traps", arguments: hostileSeconds)
    func isoNeverTraps(_ seconds: Double) {
        let text = Timestamp.iso8601(Date(timeIntervalSince1970: seconds))
        #expect(Timestamp.parse(text) != nil, "\(text)")
    }

    func processor() -> MessageProcessor {
        var processor = MessageProcessor(
            parser: MessageParser(grammar: MessageProcessorTests.grammar), templates: MessageProcessorTests.templates,
            policy: Policy(timeZone: TimeZone(identifier: "Europe/Moscow")!))
        processor.clock = { Self.now }
        return processor
    }

    func ledger() -> FakeLedger {
        FakeLedger([Account(uin: "1234567", meters: ["T1"], previous: ["12000"], phones: ["+79031234567"])])
    }

    @Test("a stated time outside a year back…a day ahead is replaced by the time of receipt, and logged",
          arguments: hostileSeconds + [now.timeIntervalSince1970 - 367 * 86_400, now.timeIntervalSince1970 + 2 * 86_400])
    func implausibleTimeReplaced(_ seconds: Double) throws {
        let ledger = ledger()
        let processor = processor()
        let message = IncomingMessage(
            channel: .sms, feed: "k", externalID: "k1", sender: "+79031234567", text: "1234567 12345",
            receivedAt: Date(timeIntervalSince1970: seconds), utcOffset: Int.max)
        let prepared = processor.prepare(message)
        #expect(prepared.incoming.receivedAt == Self.now)
        #expect(prepared.statedTime != nil)
        let result = try processor.record(prepared, in: ledger)
        #expect(result.outcome.status == .accepted)
        #expect(ledger.submissions.first?.period == "2026-11", "the period of receipt, not of the stated time")
        #expect(result.logLine.contains(" time=replaced:"), "\(result.logLine)")
    }

    @Test("a stated time inside the window is kept and not flagged")
    func plausibleTimeKept() throws {
        let stated = Self.now.addingTimeInterval(-30 * 86_400)
        let message = IncomingMessage(
            channel: .sms, feed: "k", externalID: "k1", sender: "+79031234567", text: "1234567 12345", receivedAt: stated)
        let prepared = processor().prepare(message)
        #expect(prepared.incoming.receivedAt == stated)
        #expect(prepared.statedTime == nil)
        let result = try processor().record(prepared, in: ledger())
        #expect(!result.logLine.contains("time=replaced"))
    }

    @Test("a sender with more digits than E.164 allows is no sender: kept as no_sender, not answered")
    func overlongPhone() throws {
        for sender in [String(repeating: "7", count: 20_000), "+7903123456789012", "8 (903) 123-45-67-89-01-23"] {
            let ledger = ledger()
            let prepared = processor().prepare(IncomingMessage(
                channel: .sms, feed: "k", externalID: "k1", sender: sender, text: "1234567 12345", receivedAt: Self.now))
            #expect(prepared.sender == nil)
            let result = try processor().record(prepared, in: ledger)
            #expect(result.outcome.status == .ignored && result.outcome.reason == .noSender)
            #expect(ledger.messages.count == 1, "the message itself is kept")
        }
        #expect(!Contact.isOverlongPhone("+79031234567"))
        #expect(!Contact.isOverlongPhone("+123456789012345"))
    }

    @Test("log lines escape control characters and newlines in every value (ids, senders, feeds)")
    func logLinesCannotBeForged() {
        let outcome = Outcome(
            id: "kannel:k:x\nfake 2026-01-01T00:00:00Z sms k +7903***0000 uin=1 accepted", status: .ignored, reason: .autoReply,
            results: [], reply: nil)
        for personal in [false, true] {
            let line = OutcomeLogLine.text(
                outcome, channel: .email, feed: "f\r\u{1B}[2J", sender: "a\u{1B}]0;pwned\u{07}@x.ru", replyQueued: false,
                personalData: personal)
            #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}") && !line.contains("\u{07}"), "\(line)")
            #expect(line.contains("\\n") && line.contains("\\u{1B}"), "\(line)")
        }
        #expect(OutcomeLogLine.escaped("a\u{2028}b\u{85}c\u{202E}d\\") == "a\\u{2028}b\\u{85}c\\u{202E}d\\\\")
        #expect(OutcomeLogLine.escaped("обычный текст") == "обычный текст")
    }

    @Test("a short phone number is masked in id= as in from (Gammu file names, '+' numbers)")
    func shortNumbersMaskedInIDs() {
        let outcome = Outcome(id: "gammu-files:IN20261120_081500_00_+7903123_00.txt", status: .ignored, reason: .autoReply, results: [], reply: nil)
        let line = OutcomeLogLine.text(outcome, channel: .sms, feed: "sms", sender: "+7903123", replyQueued: false)
        #expect(!line.contains("7903123"), "\(line)")
        #expect(line.contains("20261120_081500"), "the date stays readable: \(line)")
        let bare = Outcome(id: "gammu-files:IN20261120_081500_00_5553210_00.txt", status: .ignored, reason: .autoReply, results: [], reply: nil)
        let bareLine = OutcomeLogLine.text(bare, channel: .sms, feed: "sms", sender: "5553210", replyQueued: false)
        #expect(!bareLine.contains("5553210"), "\(bareLine)")
        #expect(Contact.maskID("kannel:k:+79031234567") == "kannel:k:+7903***4567")
    }

    /// Each channel's ids as its source forms them, with the personal data a peer may put in
    /// them (a phone in a Gammu file name or a Kannel id, an address in a POP3 UIDL or a replay id).
    static let channelIDs: [(channel: ChannelKind, feed: String, id: String, sender: String)] = [
        (.email, "maildir", "maildir:1732090000.M1P2Q3.mail.example.ru", "ivanov.petr@example.ru"),
        (.email, "imap", "imap:readings:INBOX:1700000000:42", "ivanov.petr@example.ru"),
        (.email, "pop3", "pop3:readings:ivanov.petr@example.ru-000123", "ivanov.petr@example.ru"),
        (.email, "pop3", "pop3:readings:<20261120.ivanov.petr@example.ru>", "other.person@example.org"),
        (.sms, "gammu-files", "gammu-files:IN20261120_081500_00_+79031234567_00.txt", "+79031234567"),
        (.sms, "gammu-files", "gammu-files:IN20261120_081500_00_89031234567_00.txt#a1b2", "+79031234567"),
        (.sms, "gammu", "gammu:gateway:42", "+79031234567"),
        (.sms, "kannel", "kannel:k:+79031234567-1732090000", "+79031234567"),
        (.sms, "kannel", "kannel:k:hAB12CD34", "+79031234567"),
        (.sms, "smsc", "smsc:smsc:987654", "+79031234567"),
        (.sms, "replay", "79031234567/2026-11", "+79031234567"),
        (.email, "replay", "ivanov.petr@example.ru#1", "ivanov.petr@example.ru"),
    ]

    @Test("personal data is masked in every channel's log line, ids included", arguments: 0..<channelIDs.count)
    func personalDataMaskedPerChannel(_ index: Int) {
        let (channel, feed, id, sender) = Self.channelIDs[index]
        let outcome = Outcome(id: id, status: .ignored, reason: .autoReply, results: [], reply: nil)
        let line = OutcomeLogLine.text(outcome, channel: channel, feed: feed, sender: sender, replyQueued: false)
        for secret in ["79031234567", "9031234567", "ivanov", "petr", "other.person"] {
            #expect(!line.contains(secret), "\(secret) unmasked: \(line)")
        }
        #expect(line.contains(" id="), "\(line)")
        // With log.personal_data the operator sees everything as it came.
        let full = OutcomeLogLine.text(outcome, channel: channel, feed: feed, sender: sender, replyQueued: false, personalData: true)
        #expect(full.contains(id) && full.contains(sender), "\(full)")
    }

    @Test("an unbound sender gets one neutral reply for unknown_account, decreasing, out_of_range and duplicate; a bound one the precise replies")
    func oracleFreeReplies() throws {
        let ledger = FakeLedger([
            Account(uin: "1234567", meters: ["T1"], previous: ["12000"], digits: 5, phones: ["+79031234567"], emails: ["owner@example.ru"]),
        ])
        let processor = processor()
        func reply(_ id: String, _ text: String, from: String, channel: ChannelKind = .sms) throws -> (Outcome, String?) {
            let message = channel == .sms
                ? IncomingMessage(channel: .sms, feed: "t", externalID: id, sender: from, text: text, receivedAt: Self.now)
                : IncomingMessage(channel: .email, feed: "t", externalID: id, sender: from, text: "", subject: text, receivedAt: Self.now)
            let result = try processor.record(processor.prepare(message), in: ledger)
            return (result.outcome, result.outcome.reply)
        }
        _ = try reply("seed", "1234567 12100", from: "+79031234567")
        for channel in [ChannelKind.sms, .email] {
            let stranger = channel == .sms ? "+79990000001" : "stranger@example.org"
            var replies: [String?] = []
            for (index, (text, reason)) in [("7654321 100", OutcomeReason.unknownAccount), ("1234567 11000", .decreasing),
                                            ("1234567 123456", .outOfRange)].enumerated() {
                let (outcome, text) = try reply("\(channel)-r\(index)", text, from: stranger, channel: channel)
                #expect(outcome.status == .rejected && outcome.reason == reason, "\(outcome)")
                replies.append(text)
            }
            let (duplicate, duplicateReply) = try reply("\(channel)-d", "1234567 12100", from: stranger, channel: channel)
            #expect(duplicate.status == .duplicate)
            replies.append(duplicateReply)
            #expect(Set(replies).count == 1, "one neutral text for all four: \(replies)")
            #expect(replies[0]?.isEmpty == false)
            #expect(replies[0]?.contains("12100") == false && replies[0]?.contains("1234567") == false)
        }
        // The bound owner keeps the precise reply.
        let (_, precise) = try reply("own-dec", "1234567 11000", from: "+79031234567")
        let (_, strangers) = try reply("str-dec", "1234567 11000", from: "+79990000002")
        #expect(precise != strangers, "\(String(describing: precise))")
        #expect(precise?.contains("11000") == true)
    }
}
