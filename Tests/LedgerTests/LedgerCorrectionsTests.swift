import Foundation
import Ledger
import Testing

/// The corrections model (contract §6) as every ledger must keep it: within an account's
/// period the latest submission counts, the ones it replaced stay recorded and are marked
/// superseded, and nothing superseded counts again (validator, history, review, export).
@Suite("Ledger compatibility: corrections and history")
struct LedgerCorrectionsTests {
    /// Records one submission in a message of its own; returns its id.
    @discardableResult
    func record(
        _ ledger: any LedgerDriver, _ id: String, uin: String = "1234567", status: String = "accepted", period: String = "2026-11",
        values: [String], sender: String? = "+79030000000", senderBound: Bool? = nil, at date: Date = Date()
    ) async throws -> Int64 {
        try await ledger.transaction { tx in
            var new = submission(try tx.insertMessage(message(id, sender: sender, at: date)), uin: uin, status: status, period: period, values: values)
            new.senderBound = senderBound
            return try tx.insertSubmission(new, channel: "sms", sender: sender, receivedAt: date)
        }
    }

    func state(_ ledger: any LedgerDriver, uin: String = "1234567", period: String = "2026-11", values: [String]) async throws -> PeriodState {
        try await ledger.transaction { tx in try tx.periodState(uin: uin, period: period, values: values) }
    }

    @Test("the period state: last period's accepted readings, the one that counts now, the same values", arguments: LedgerKind.all)
    func periodState(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let empty = try await state(ledger, values: ["1"])
        #expect(empty == PeriodState(earlierAccepted: [:], current: nil, alreadyRecorded: false, hasUnsuperseded: false))

        try await record(ledger, "sep", period: "2026-09", values: ["90", "40"])
        try await record(ledger, "oct", period: "2026-10", values: ["100", "50"])
        try await record(ledger, "oct-held", status: "held", period: "2026-10", values: ["99999", "50"])
        try await record(ledger, "oct-rejected", status: "rejected", period: "2026-10", values: ["101", "51"])
        let first = try await record(ledger, "nov", values: ["120", "60"], senderBound: false)
        let held = try await record(ledger, "nov-held", status: "held", values: ["20000", "60"], sender: "x@example.org", senderBound: true)
        try await record(ledger, "dec", period: "2026-12", values: ["130", "70"])

        let november = try await state(ledger, values: ["20000", "60"])
        #expect(november.earlierAccepted == ["T1": "100", "T2": "50"], "the latest earlier period's accepted readings, not November's or December's")
        #expect(november.alreadyRecorded, "a held submission of the period is recorded")
        #expect(november.hasUnsuperseded)
        let current = try #require(november.current)
        #expect(current.id == first && current.status == "accepted" && current.values == ["120", "60"], "accepted counts before a later held one")
        #expect(current.sender == "+79030000000" && current.senderBound == false && current.period == "2026-11")
        #expect(try await state(ledger, values: ["121", "60"]).alreadyRecorded == false)
        #expect(try await state(ledger, period: "2026-10", values: ["101", "51"]).alreadyRecorded == false, "rejected is no recording")
        #expect(try await state(ledger, period: "2026-10", values: ["1"]).earlierAccepted == ["T1": "90", "T2": "40"])
        #expect(try await state(ledger, uin: "7654321", values: ["1"]).current == nil)

        // A held one counts when the period has nothing accepted.
        try await record(ledger, "jan-held", status: "held", period: "2027-01", values: ["140", "80"], sender: "a@b.ru")
        let january = try #require(try await state(ledger, period: "2027-01", values: ["1"]).current)
        #expect(january.status == "held" && january.sender == "a@b.ru" && january.senderBound == nil)
        _ = held
    }

    @Test("supersede: the replaced ones count for nothing; later held ones wait for their own decision", arguments: LedgerKind.all)
    func supersede(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        try await record(ledger, "oct", period: "2026-10", values: ["100"])
        let first = try await record(ledger, "a", values: ["12500"])
        let duplicate = try await record(ledger, "b", status: "duplicate", values: ["12500"])
        let correction = try await record(ledger, "c", values: ["12400"])
        let later = try await record(ledger, "d", status: "held", values: ["19000"], sender: "+79990000000")
        let replaced = try await ledger.transaction { tx in try tx.supersede(uin: "1234567", period: "2026-11", by: correction) }
        #expect(replaced == 2, "the first and its duplicate; not the later held one, not October's")

        let november = try await state(ledger, values: ["12500"])
        #expect(!november.alreadyRecorded, "a superseded submission's values may be sent again: they are a correction")
        #expect(november.current?.id == correction)
        #expect(try await state(ledger, values: ["19000"]).alreadyRecorded)
        #expect(try await state(ledger, period: "2026-12", values: ["1"]).earlierAccepted == ["T1": "12400"])
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "12400"])
            #expect(try !tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["12500"]))
            #expect(try tx.supersede(uin: "1234567", period: "2026-11", by: correction) == 0, "nothing left to supersede")
        }
        #expect(try await ledger.heldSubmissions().map(\.id) == [later])

        let current = try await exportAll(ledger, all: false)
        #expect(current.map(\.value) == ["100", "12400", "19000"] && current.map(\.status) == ["accepted", "accepted", "held"])
        let all = try await exportAll(ledger, all: true)
        #expect(all.map(\.value) == ["100", "12500", "12500", "12400", "19000"])
        #expect(all.map(\.status) == ["accepted", "superseded", "superseded", "accepted", "held"])
        #expect(all.map(\.messageID) == ["oct", "a", "b", "c", "d"])
        _ = (first, duplicate)
    }

    @Test("review: an approved correction becomes the one that counts; a superseded held one leaves the queue", arguments: LedgerKind.all)
    func review(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        try await record(ledger, "a", values: ["12500"], senderBound: true)
        let stranger = try await ledger.transaction { tx in
            var new = submission(try tx.insertMessage(message("b", sender: "+79990000000")), status: "held", values: ["12600"])
            new.reason = "unverified_correction"
            new.senderBound = false
            return try tx.insertSubmission(new, channel: "sms", sender: "+79990000000", receivedAt: Date())
        }
        let queue = try await ledger.heldSubmissions()
        #expect(queue.map(\.id) == [stranger] && queue.first?.reason == "unverified_correction")
        #expect(try await ledger.heldCount() == 1)
        try await ledger.decide(submission: stranger, .approve) { _ in nil }
        let rows = try await exportAll(ledger, all: false)
        #expect(rows.map(\.value) == ["12600"] && rows.map(\.status) == ["accepted"], "only the approved correction counts")
        #expect(try await exportAll(ledger, all: true).map(\.status) == ["superseded", "accepted"])
        #expect(try await state(ledger, values: ["1"]).current?.id == stranger)

        // A held reading superseded by a later accepted one leaves the queue and cannot be decided.
        let held = try await record(ledger, "c", status: "held", values: ["30000"])
        let correction = try await record(ledger, "d", values: ["12700"])
        try await ledger.transaction { tx in _ = try tx.supersede(uin: "1234567", period: "2026-11", by: correction) }
        #expect(try await ledger.heldSubmissions().isEmpty)
        #expect(try await ledger.heldCount() == 0)
        await #expect(throws: LedgerError.self) {
            try await ledger.decide(submission: held, .approve) { _ in nil }
        }

        // Two held readings: approving the first leaves the second waiting; approving it then
        // makes it the one that counts.
        let one = try await record(ledger, "e", status: "held", period: "2026-12", values: ["40000"])
        let two = try await record(ledger, "f", status: "held", period: "2026-12", values: ["41000"])
        try await ledger.decide(submission: one, .approve) { _ in nil }
        #expect(try await ledger.heldSubmissions().map(\.id) == [two])
        try await ledger.decide(submission: two, .approve) { _ in nil }
        let december = try await exportAll(ledger, all: false).filter { ["e", "f"].contains($0.messageID) }
        #expect(december.map(\.messageID) == ["f"])
    }

    @Test("history: the readings that count in the latest period; accounts by a bound contact", arguments: LedgerKind.all)
    func history(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let october = Date(timeIntervalSince1970: 1_792_000_000)
        try await record(ledger, "oct", period: "2026-10", values: ["100", "50"], at: october)
        let novemberHeld = try await record(ledger, "nov", status: "held", values: ["20000", "60"])
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            let last = try #require(try tx.lastAccepted(uin: "1234567"))
            #expect(last.values == ["100", "50"] && last.meters == ["T1", "T2"] && last.period == "2026-10")
            #expect(abs(last.receivedAt.timeIntervalSince(october)) < 0.001)
            #expect(try tx.lastAccepted(uin: "7654321") == nil)
        }
        try await ledger.decide(submission: novemberHeld, .approve) { _ in nil }
        let first = try await record(ledger, "nov2", values: ["120", "60"])
        try await ledger.transaction { tx in _ = try tx.supersede(uin: "1234567", period: "2026-11", by: first) }
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.lastAccepted(uin: "1234567")?.values == ["120", "60"])
        }

        _ = try await ledger.importAccounts([
            Account(uin: "1111111", meters: ["T1"], phones: ["+79031112233"], emails: ["a@b.ru"]),
            Account(uin: "2222222", meters: ["T1"], phones: ["+79031112233", "+79034445566"]),
            Account(uin: "3333333", meters: ["T1"]),
        ], replacing: false)
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.uinsBound(to: "+79031112233") == ["1111111", "2222222"])
            #expect(try tx.uinsBound(to: "a@b.ru") == ["1111111"])
            #expect(try tx.uinsBound(to: "+79034445566") == ["2222222"])
            #expect(try tx.uinsBound(to: "+70000000000").isEmpty)
        }
        // A new export from billing changes the bindings.
        _ = try await ledger.importAccounts([Account(uin: "2222222", meters: ["T1"], phones: ["+79034445566"])], replacing: false)
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.uinsBound(to: "+79031112233") == ["1111111"])
        }
        _ = try await ledger.importAccounts([Account(uin: "3333333", meters: ["T1"], emails: ["c@d.ru"])], replacing: true)
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.uinsBound(to: "+79031112233").isEmpty && tx.uinsBound(to: "a@b.ru").isEmpty)
            #expect(try tx.uinsBound(to: "c@d.ru") == ["3333333"])
        }
    }

    func exportAll(_ ledger: any LedgerDriver, all: Bool) async throws -> [ExportRow] {
        var rows: [ExportRow] = []
        var cursor: Int64? = 0
        while let after = cursor {
            let page = try await ledger.exportPage(since: nil, after: after, limit: 2, includeSuperseded: all)
            rows += page.rows
            cursor = page.next
        }
        return rows
    }
}
