import Foundation
import Ledger
@testable import MeterCore

/// An in-memory `LedgerTransaction` for unit tests of the validator and processor
/// (the real SQLite ledger has its own tests).
final class FakeLedger: LedgerTransaction {
    var accounts: [String: Account] = [:]
    var messages: [NewMessage] = []
    var submissions: [NewSubmission] = []
    var replies: [NewReply] = []

    init(_ accounts: [Account] = []) {
        for account in accounts { self.accounts[account.uin] = account }
    }

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        messages.contains { $0.channel == channel && $0.externalID == externalID }
    }

    func countMessages(sender: String, since: Date) throws -> Int {
        messages.filter { $0.sender == sender && $0.receivedAt >= since }.count
    }

    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int {
        messages.filter { $0.sender == sender && $0.receivedAt >= since && $0.senderAuthenticated == authenticated }.count
    }

    func countReplies(recipient: String, since: Date) throws -> Int {
        replies.filter { $0.recipient == recipient && $0.state == .pending }.count
    }

    func account(uin: String) throws -> Account? { accounts[uin] }

    func latestAccepted(uin: String) throws -> [String: String] {
        guard let last = submissions.last(where: { $0.uin == uin && $0.status == "accepted" }) else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(last.meters, last.values))
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        submissions.contains { $0.uin == uin && $0.period == period && $0.values == values && ["accepted", "held"].contains($0.status) }
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        messages.append(message)
        return Int64(messages.count)
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        submissions.append(submission)
        return Int64(submissions.count)
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        replies.append(reply)
        return Int64(replies.count)
    }
}
