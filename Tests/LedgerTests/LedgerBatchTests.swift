import Foundation
import Ledger
import Testing

/// A group commit told what it will ask (`prepare(for:)`): whatever the ledger loads ahead or
/// keeps until the commit, every question inside the batch is answered as the store would,
/// counting the batch's own rows, and the rows are there after the commit.
@Suite("Ledger compatibility: a batch answers its own questions")
struct LedgerBatchTests {
    @Test("rows written earlier in the batch count: seen, sender counts, period state, supersede, replies", arguments: LedgerKind.all)
    func batchSeesItsOwnRows(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let corrections = LedgerCorrectionsTests()
        let now = Date()
        let sender = "+79030000000"
        try await corrections.record(ledger, "oct", period: "2026-10", values: ["100"], at: now)
        let stored = try await corrections.record(ledger, "a", values: ["12500"], at: now)
        let held = try await corrections.record(ledger, "h", status: "held", values: ["99999"], sender: "+79990000000", at: now)

        let ids = try await ledger.transaction { tx -> [Int64] in
            var hint = LedgerBatchHint()
            hint.messages = [("sms", "a"), ("sms", "b"), ("sms", "c")]
            hint.senders = [sender]
            hint.sendersSince = now.addingTimeInterval(-3600)
            hint.uins = ["1234567"]
            hint.accounts = ["1234567"]
            hint.recipients = [sender]
            try tx.prepare(for: hint)
            let since = now.addingTimeInterval(-3600)
            #expect(try tx.hasMessage(channel: "sms", externalID: "a"))
            #expect(try !tx.hasMessage(channel: "sms", externalID: "b"))
            #expect(try tx.countMessages(sender: sender, since: since) == 2, "oct and a")
            #expect(try tx.countReplies(recipient: sender, since: since) == 0)
            #expect(try tx.account(uin: "1234567") == nil, "no such account imported")

            let b = try tx.insertMessage(message("b", sender: sender, at: now))
            #expect(try tx.hasMessage(channel: "sms", externalID: "b"))
            #expect(try tx.countMessages(sender: sender, since: since) == 3)
            #expect(try tx.countMessages(sender: sender, since: now.addingTimeInterval(1)) == 0)
            let bs = try tx.insertSubmission(submission(b, status: "accepted", values: ["12600"]), channel: "sms", sender: sender, receivedAt: now)
            let afterB = try tx.periodState(uin: "1234567", period: "2026-11", values: ["12600"])
            #expect(afterB.alreadyRecorded && afterB.current?.id == bs, "the batch's own submission counts: \(afterB)")
            #expect(try tx.supersede(uin: "1234567", period: "2026-11", by: bs) == 2, "the stored accepted one and the held one before it")
            #expect(try !tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["12500"]))

            let c = try tx.insertMessage(message("c", sender: sender, at: now))
            let cs = try tx.insertSubmission(submission(c, status: "accepted", values: ["12700"]), channel: "sms", sender: sender, receivedAt: now)
            #expect(try tx.supersede(uin: "1234567", period: "2026-11", by: cs) == 1, "b's, written in this batch")
            #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "12700"])
            #expect(try tx.lastAccepted(uin: "1234567")?.id == cs)
            _ = try tx.enqueueReply(reply(sender, channel: "sms", messageID: c))
            _ = try tx.enqueueReply(reply(sender, channel: "sms", messageID: b, state: .recorded))
            #expect(try tx.countReplies(recipient: sender, since: since) == 1, "a recorded-only reply does not count")
            // A question outside the hint: another account, another sender.
            #expect(try tx.periodState(uin: "7654321", period: "2026-11", values: ["1"]).current == nil)
            #expect(try tx.countMessages(sender: "+79990000000", since: since) == 1)
            return [bs, cs]
        }

        let all = try await corrections.exportAll(ledger, all: true)
        #expect(all.map(\.messageID) == ["oct", "a", "h", "b", "c"])
        #expect(all.map(\.status) == ["accepted", "superseded", "superseded", "superseded", "accepted"])
        let next = try await ledger.transaction { tx in
            (try tx.hasMessage(channel: "sms", externalID: "c"), try tx.periodState(uin: "1234567", period: "2026-11", values: ["12700"]))
        }
        #expect(next.0 && next.1.current?.id == ids[1] && next.1.alreadyRecorded)
        #expect(try await ledger.heldSubmissions().isEmpty, "the held one was superseded: it left the queue")
        _ = (stored, held)
    }
}
