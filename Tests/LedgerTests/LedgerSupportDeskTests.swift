import Foundation
import Ledger
import Testing

/// The support desk's look-ups (issue 15), as every ledger must answer them: by sender, by
/// account (whatever the result's status), by time and status, newest first; a message with
/// its replies and their states; the per-day counts of the month page.
@Suite("Ledger compatibility: support desk look-ups")
struct LedgerSupportDeskTests {
    func outcome(_ uins: [(String, String)]) -> String {
        "{\"id\":\"x\",\"status\":\"\(uins.first?.1 ?? "rejected")\",\"results\":["
            + uins.map { "{\"uin\":\"\($0.0)\",\"status\":\"\($0.1)\",\"readings\":[\"1\"]}" }.joined(separator: ",")
            + "],\"reply\":\"ok\"}"
    }

    @discardableResult
    func record(
        _ ledger: any LedgerDriver, _ id: String, sender: String, at date: Date, status: String = "accepted",
        uins: [(String, String)] = [("1234567", "accepted")], reply: NewReply.State? = .pending, promised: Bool = true
    ) async throws -> Int64 {
        let json = outcome(uins)
        return try await ledger.transaction { tx in
            var new = message(id, sender: sender, at: date, status: status, reason: status == "rejected" ? "count_mismatch" : nil)
            new.outcomeJSON = json
            new.uins = uins.map(\.0)
            // As the message processor says it: the UINs that get a submission below (a ledger
            // may then find the message by them through the submission). Without the promise,
            // as a message recorded before `submittedUINs`.
            if promised { new.submittedUINs = uins.filter { $0.1 != "rejected" }.map(\.0) }
            let messageID = try tx.insertMessage(new)
            for (uin, result) in uins where result != "rejected" {
                _ = try tx.insertSubmission(
                    submission(messageID, uin: uin, status: result, values: ["1"]), channel: "sms", sender: sender, receivedAt: date)
            }
            if let reply { _ = try tx.enqueueReply(NewReply(
                messageID: messageID, channel: "sms", recipient: sender, subject: nil, inReplyTo: nil, references: [], body: "ok \(id)", state: reply)) }
            return messageID
        }
    }

    @Test("messages by sender, by account, by time and by status, newest first, with their replies", arguments: LedgerKind.all)
    func lookUps(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        try await record(ledger, "a1", sender: "+79031234567", at: base)
        try await record(ledger, "b1", sender: "+79039999999", at: base.addingTimeInterval(10), uins: [("7654321", "accepted")])
        try await record(ledger, "a2", sender: "+79031234567", at: base.addingTimeInterval(20), status: "rejected",
                         uins: [("1234567", "rejected")], reply: nil)
        let a3 = try await record(ledger, "a3", sender: "+79031234567", at: base.addingTimeInterval(30), status: "held",
                                  uins: [("1234567", "held"), ("7654321", "accepted")], reply: .recorded, promised: false)

        let bySender = try await ledger.messages(matching: MessageQuery(sender: "+79031234567"))
        #expect(bySender.map(\.externalID) == ["a3", "a2", "a1"])
        #expect(bySender.first?.id == a3)
        #expect(bySender.first?.replyState == "replay-only")
        #expect(bySender.first?.replies.first?.body == "ok a3")
        #expect(bySender.last?.replyState == "pending")

        // A rejected result records no submission, and still finds its message by account.
        let byAccount = try await ledger.messages(matching: MessageQuery(uin: "1234567"))
        #expect(byAccount.map(\.externalID) == ["a3", "a2", "a1"])
        let other = try await ledger.messages(matching: MessageQuery(uin: "7654321"))
        #expect(other.map(\.externalID) == ["a3", "b1"])

        let later = try await ledger.messages(matching: MessageQuery(sender: "+79031234567", since: base.addingTimeInterval(15)))
        #expect(later.map(\.externalID) == ["a3", "a2"])
        let rejected = try await ledger.messages(matching: MessageQuery(sender: "+79031234567", status: "rejected"))
        #expect(rejected.map(\.externalID) == ["a2"])
        #expect(rejected.first?.replyState == "replay-only")  // the message's own reply text, no outbox row
        let limited = try await ledger.messages(matching: MessageQuery(limit: 2))
        #expect(limited.map(\.externalID) == ["a3", "a2"])
        #expect(try await ledger.messages(matching: MessageQuery(sender: "+70000000000")).isEmpty)

        let one = try #require(try await ledger.message(id: a3))
        #expect(one.outcomeJSON.contains("\"7654321\""))
        #expect(try await ledger.message(id: 999_999) == nil)

        let history = try await ledger.submissions(uin: "1234567", limit: 10)
        #expect(history.map(\.status) == ["held", "accepted"])

        let offset = 3 * 3600
        let perDay = try await ledger.submissionsPerDay(since: base.addingTimeInterval(-86400), utcOffset: offset)
        let day = Int((base.timeIntervalSince1970 + Double(offset)) / 86400)
        #expect(perDay.filter { $0.day == day && $0.key == "sms" }.map(\.count).reduce(0, +) == 4)
        let statuses = try await ledger.messagesPerDay(since: base.addingTimeInterval(-86400), utcOffset: offset)
        #expect(statuses.first { $0.key == "accepted" }?.count == 2)
        #expect(statuses.first { $0.key == "rejected:count_mismatch" }?.count == 1)
    }

    @Test("a sent reply reads sent, a reply held in doubt reads held", arguments: LedgerKind.all)
    func replyStates(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let sent = try await record(ledger, "s", sender: "+79031234567", at: date)
        let doubt = try await record(ledger, "d", sender: "+79031234568", at: date)
        let replies = try await ledger.dueReplies(channel: "sms", now: Date().addingTimeInterval(3600), afterID: 0, limit: 10)
        #expect(replies.count == 2)
        try await ledger.markReplySent(id: replies[0].id)
        let inDoubt = replies[1].id
        try await offPool { try ledger.markReplyCommitting(id: inDoubt, sent: []) }
        try await ledger.holdReplyInDoubt(id: replies[1].id, reason: "no answer")
        #expect(try await ledger.message(id: sent)?.replyState == "sent")
        #expect(try await ledger.message(id: doubt)?.replyState == "held")
    }
}
