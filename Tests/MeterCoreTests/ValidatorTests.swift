import Foundation
import Ledger
import ReadingsGrammar
import Testing
@testable import MeterCore

/// Builds interpretations by hand: `i("1234567: 100 T2=50 | 7654321: 1", penalty: 1)`.
func i(_ text: String, penalty: Int = 0) -> Interpretation {
    let submissions = text.split(separator: "|").map { part -> Submission in
        let halves = part.split(separator: ":", maxSplits: 1)
        let uin = halves[0].trimmingCharacters(in: .whitespaces)
        let readings = halves.count < 2 ? [] : halves[1].split(separator: " ").map { token -> Reading in
            let pieces = token.split(separator: "=")
            let zone = pieces.count == 2 ? String(pieces[0]) : nil
            let raw = String(pieces.last!)
            return Reading(value: MeterValue(raw)!, zone: zone, raw: raw)
        }
        return Submission(uin: uin, uinLabeled: false, readings: readings)
    }
    return Interpretation(submissions: submissions, penalty: penalty, notes: [])
}

struct ValidatorCase: CustomTestStringConvertible, Sendable {
    var name: String
    var interpretations: [Interpretation]
    var expected: [String]  // "uin status[/reason] readings…"
    var testDescription: String { name }
}

@Suite struct ValidatorTests {
    static let accounts = [
        Account(uin: "1111111", meters: ["T1"], previous: ["16955"]),
        Account(uin: "2222222", meters: ["T1", "T2"], previous: ["45273", "26490"]),
        Account(uin: "3333333", meters: ["T1", "T2", "T3"], previous: ["8244", "9601", "14830"]),
        Account(uin: "4444444", meters: ["T1"], previous: ["99880"], digits: 5),
        Account(uin: "5555555", meters: ["T1", "T2"], previous: [nil, nil]),
        Account(uin: "0066666", meters: ["M1", "M2"], previous: ["100", "200"]),
        Account(uin: "7777777", meters: ["T1"], previous: ["33616"]),
        Account(uin: "8888888", meters: ["T1"], previous: ["36579"], digits: 5),
        Account(uin: "9999999", meters: ["T1"], previous: []),
    ]

    static let cases: [ValidatorCase] = [
        .init(name: "plain accept", interpretations: [i("1111111: 17281")], expected: ["1111111 accepted 17281"]),
        .init(name: "unknown account", interpretations: [i("1234560: 5")], expected: ["1234560 rejected/unknown_account 5"]),
        .init(name: "count mismatch", interpretations: [i("2222222: 45300")], expected: ["2222222 rejected/count_mismatch 45300"]),
        .init(name: "decreasing", interpretations: [i("1111111: 16000")], expected: ["1111111 rejected/decreasing 16000"]),
        .init(name: "equal is accepted", interpretations: [i("1111111: 16955")], expected: ["1111111 accepted 16955"]),
        .init(name: "implausible is held", interpretations: [i("7777777: 39338")], expected: ["7777777 held/implausible 39338"]),
        .init(name: "exactly max increase is accepted", interpretations: [i("7777777: 38616")], expected: ["7777777 accepted 38616"]),
        .init(name: "wrap-around within the register", interpretations: [i("4444444: 167")], expected: ["4444444 accepted 167"]),
        .init(name: "wrap-around too far is decreasing", interpretations: [i("4444444: 50000")], expected: ["4444444 rejected/decreasing 50000"]),
        .init(name: "more digits than the register", interpretations: [i("8888888: 136891")], expected: ["8888888 rejected/out_of_range 136891"]),
        .init(name: "labels placed in meter order", interpretations: [i("2222222: T2=26600 T1=45400")], expected: ["2222222 accepted 45400 26600"]),
        .init(name: "three zones out of order", interpretations: [i("3333333: T3=14948 T1=8310 T2=9794")], expected: ["3333333 accepted 8310 9794 14948"]),
        .init(name: "partial labels fill the rest in order", interpretations: [i("3333333: 8310 T3=14948 9794")], expected: ["3333333 accepted 8310 9794 14948"]),
        .init(name: "a zone the account lacks", interpretations: [i("1111111: T2=17000")], expected: ["1111111 rejected/count_mismatch 17000"]),
        .init(name: "the same zone twice", interpretations: [i("2222222: T1=45400 T1=26600")], expected: ["2222222 rejected/ambiguous 45400 26600"]),
        .init(name: "no previous values", interpretations: [i("5555555: 1 2")], expected: ["5555555 accepted 1 2"]),
        .init(name: "separate meters", interpretations: [i("0066666: 150 250")], expected: ["0066666 accepted 150 250"]),
        .init(name: "no previous at all", interpretations: [i("9999999: 5")], expected: ["9999999 accepted 5"]),
        .init(name: "only one alternative fits (thousands join)",
              interpretations: [i("1111111: 17 281"), i("1111111: 17281", penalty: 1)], expected: ["1111111 accepted 17281"]),
        .init(name: "two alternatives fit: ambiguous",
              interpretations: [i("5555555: 51 412 518"), i("5555555: 51412 518", penalty: 1), i("5555555: 51 412518", penalty: 1)],
              expected: ["5555555 rejected/ambiguous"]),
        .init(name: "same result by two routes is not ambiguous",
              interpretations: [i("1111111: 17281"), i("1111111: T1=17281", penalty: 1)], expected: ["1111111 accepted 17281"]),
        .init(name: "a strong fit beats an implausible one",
              interpretations: [i("7777777: 33700"), i("7777777: 337000", penalty: 1)], expected: ["7777777 accepted 33700"]),
        .init(name: "two UINs in one message",
              interpretations: [i("1111111: 17281 2222222 45300"), i("1111111: 17281 | 2222222: 45300 26500", penalty: 1)],
              expected: ["1111111 accepted 17281", "2222222 accepted 45300 26500"]),
        .init(name: "two UINs, one unknown",
              interpretations: [i("1111111: 17281 1234560 5"), i("1111111: 17281 | 1234560: 5", penalty: 1)],
              expected: ["1111111 accepted 17281", "1234560 rejected/unknown_account 5"]),
        .init(name: "one UIN twice with different readings",
              interpretations: [i("1111111: 17281 1111111 17290"), i("1111111: 17281 | 1111111: 17290", penalty: 1)],
              expected: ["1111111 rejected/ambiguous"]),
        .init(name: "one UIN twice with the same readings",
              interpretations: [i("1111111: 17281 | 1111111: 17281")], expected: ["1111111 accepted 17281"]),
        .init(name: "nothing fits: the plainest reading answers",
              interpretations: [i("2222222: 15 889"), i("2222222: 15889", penalty: 1)], expected: ["2222222 rejected/decreasing 15 889"]),
    ]

    @Test(arguments: cases)
    func decides(_ testCase: ValidatorCase) throws {
        let ledger = FakeLedger(Self.accounts)
        let validator = Validator(policy: Policy())
        let results = try validator.decide(testCase.interpretations, limitReached: false, period: "2026-11", in: ledger)
        let rendered = results.map { result in
            ([result.uin, result.status.rawValue + (result.reason.map { "/" + $0.rawValue } ?? "")] + result.readings)
                .joined(separator: " ")
        }
        #expect(rendered == testCase.expected)
    }

    @Test func searchLimitIsAmbiguous() throws {
        let results = try Validator(policy: Policy()).decide(
            [i("1111111: 17281")], limitReached: true, period: "2026-11", in: FakeLedger(Self.accounts))
        #expect(results.isEmpty)  // the processor answers rejected/ambiguous without naming a UIN
    }

    @Test func duplicateAndDecreasingAfterAnAcceptedReading() throws {
        let ledger = FakeLedger(Self.accounts)
        ledger.submissions.append(NewSubmission(
            messageID: 1, uin: "1111111", period: "2026-11", status: "accepted", reason: nil, meters: ["T1"],
            values: ["17281"], previous: ["16955"]))
        let validator = Validator(policy: Policy())
        let again = try validator.decide([i("1111111: 17281")], limitReached: false, period: "2026-11", in: ledger)
        #expect(again.map(\.status) == [.duplicate])
        // Lower than this period's reading but not than the period before's: a correction, held
        // when nobody says who sends it; lower than the period before's: decreasing.
        let lower = try validator.decide([i("1111111: 17200")], limitReached: false, period: "2026-11", in: ledger)
        #expect(lower.map(\.reason) == [.unverifiedCorrection] && lower.first?.replaces == nil)
        let belowPrevious = try validator.decide([i("1111111: 16900")], limitReached: false, period: "2026-11", in: ledger)
        #expect(belowPrevious.map(\.reason) == [.decreasing])
        let nextPeriod = try validator.decide([i("1111111: 17281")], limitReached: false, period: "2026-12", in: ledger)
        #expect(nextPeriod.map(\.status) == [.accepted])
    }

    @Test func maxIncreaseComesFromThePolicy() throws {
        var policy = Policy()
        policy.maxIncrease = 10
        let results = try Validator(policy: policy).decide(
            [i("1111111: 16966")], limitReached: false, period: "2026-11", in: FakeLedger(Self.accounts))
        #expect(results.map(\.status) == [.held])
    }
}

@Suite struct PolicyTests {
    @Test(arguments: [("1-31", 1...31), ("20-25", 20...25), ("5", 5...5), (" 3 - 9 ", 3...9)])
    func parsesDays(text: String, range: ClosedRange<Int>) {
        #expect(Policy.parseDays(text) == range)
    }

    @Test(arguments: ["", "0-5", "25-20", "1-32", "a-b", "1-2-3"])
    func refusesBadDays(text: String) {
        #expect(Policy.parseDays(text) == nil)
    }

    @Test func daysAfterTheWindowCountForTheNextPeriod() {
        var policy = Policy(submissionDays: 20...25, timeZone: TimeZone(identifier: "Europe/Moscow")!)
        func date(_ text: String) -> Date { Timestamp.parse(text)!.date }
        #expect(policy.period(of: date("2026-11-22T10:00:00+03:00")) == "2026-11")
        #expect(policy.period(of: date("2026-11-26T10:00:00+03:00")) == "2026-12")
        #expect(policy.period(of: date("2026-12-28T10:00:00+03:00")) == "2027-01")
        #expect(policy.period(of: date("2026-11-05T10:00:00+03:00")) == "2026-11")
        // The day is read in the policy's zone: 23:30 UTC on the 25th is the 26th in Moscow.
        #expect(policy.period(of: date("2026-11-25T23:30:00Z")) == "2026-12")
        policy.submissionDays = 1...31
        #expect(policy.period(of: date("2026-11-30T23:59:00+03:00")) == "2026-11")
        // Without a configured zone, the offset the message was stamped with decides.
        policy.timeZone = nil
        let early = Timestamp.parse("2026-12-01T01:00:00+03:00")!
        #expect(policy.period(of: early.date, utcOffset: early.offset) == "2026-12")
    }
}

@Suite struct ContactTests {
    @Test(arguments: [
        ("8 903 123-45-67", "+79031234567"), ("+7 (903) 123-45-67", "+79031234567"), ("79031234567", "+79031234567"),
        ("9031234567", "+79031234567"), ("+44 20 7946 0958", "+442079460958"), ("MTS", "MTS"), ("0611", "0611"),
        ("8-903-123-45-67", "+79031234567"), ("8 (903) 123 45 67", "+79031234567"), (" +79031234567\n", "+79031234567"),
        ("8\u{00A0}903\u{00A0}123\u{2011}45\u{2011}67", "+79031234567"), ("+7 903 123–45–67", "+79031234567"),
        ("900", "900"), ("Beeline", "Beeline"), ("Tele2 ", "Tele2"),
    ])
    func normalizesPhones(text: String, normalized: String) {
        #expect(Contact.normalizePhone(text) == normalized)
    }

    @Test func masks() {
        #expect(Contact.mask("+79031234567") == "+7903***4567")
        #expect(Contact.mask("ivanov@example.ru") == "iv***@example.ru")
        #expect(Contact.mask(nil) == "-")
        #expect(!Contact.mask("+79031234567").contains("123"))
        #expect(Contact.mask(Contact.normalizePhone("8 903 555-22-04")) == "+7903***2204")
    }

    @Test func onlyRealNumbersAreAnswered() {
        #expect(Contact.isReplyablePhone("+79031234567"))
        #expect(!Contact.isReplyablePhone("0611"))
        #expect(!Contact.isReplyablePhone("MTS"))
        #expect(!Contact.isReplyablePhone(Contact.normalizePhone("900")))
        #expect(!Contact.isReplyablePhone(Contact.normalizePhone("Tele2")))
        #expect(Contact.isReplyablePhone(Contact.normalizePhone("8 (903) 123-45-67")))
    }
}
