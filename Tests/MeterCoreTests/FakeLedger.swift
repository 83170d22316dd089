import Foundation
import Ledger
@testable import MeterCore

/// An in-memory `LedgerTransaction` for unit tests of the validator and processor
/// (the real SQLite ledger has its own tests).
final class FakeLedger: LedgerTransaction {
    var accounts: [String: Account] = [:]
    var messages: [NewMessage] = []
    var submissions: [NewSubmission] = []
    /// Index in `submissions` → the index of the submission that superseded it.
    var supersededBy: [Int: Int] = [:]
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

    func countReplies(recipient: String, since: Date) throws -> Int {
        replies.filter { $0.recipient == recipient && $0.state == .pending }.count
    }

    func account(uin: String) throws -> Account? { accounts[uin] }

    /// Submissions not superseded, with their ids (1-based, as `insertSubmission` returns them).
    private var standing: [(id: Int64, submission: NewSubmission)] {
        submissions.enumerated().filter { supersededBy[$0.offset] == nil }.map { (Int64($0.offset + 1), $0.element) }
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        guard let last = standing.last(where: { $0.submission.uin == uin && $0.submission.status == "accepted" }) else { return [:] }
        return Dictionary(uniqueKeysWithValues: zip(last.submission.meters, last.submission.values))
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        standing.contains {
            $0.submission.uin == uin && $0.submission.period == period && $0.submission.values == values
                && ["accepted", "held"].contains($0.submission.status)
        }
    }

    private func recorded(_ item: (id: Int64, submission: NewSubmission)) -> RecordedSubmission {
        RecordedSubmission(
            id: item.id, period: item.submission.period, status: item.submission.status, meters: item.submission.meters,
            values: item.submission.values, sender: senders.indices.contains(Int(item.id) - 1) ? senders[Int(item.id) - 1] : nil, senderBound: item.submission.senderBound,
            receivedAt: Date(timeIntervalSince1970: 0))
    }

    var senders: [String?] = []

    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState {
        let rows = standing.filter { $0.submission.uin == uin }
        let earlier = rows.filter { $0.submission.status == "accepted" && $0.submission.period < period }
            .max { ($0.submission.period, $0.id) < ($1.submission.period, $1.id) }
        let inPeriod = rows.filter { $0.submission.period == period }
        let counting = inPeriod.filter { ["accepted", "held"].contains($0.submission.status) }
        let current = counting.last { $0.submission.status == "accepted" } ?? counting.last { $0.submission.status == "held" }
        return PeriodState(
            earlierAccepted: earlier.map { Dictionary(uniqueKeysWithValues: zip($0.submission.meters, $0.submission.values)) } ?? [:],
            current: current.map(recorded), alreadyRecorded: counting.contains { $0.submission.values == values },
            hasUnsuperseded: !inPeriod.isEmpty)
    }

    func supersede(uin: String, period: String, by id: Int64) throws -> Int {
        let ids = standing.filter {
            $0.submission.uin == uin && $0.submission.period == period && $0.id != id
                && !($0.submission.status == "held" && $0.id > id)
        }.map(\.id)
        for other in ids { supersededBy[Int(other) - 1] = Int(id) - 1 }
        return ids.count
    }

    func lastAccepted(uin: String) throws -> RecordedSubmission? {
        standing.filter { $0.submission.uin == uin && $0.submission.status == "accepted" }
            .max { ($0.submission.period, $0.id) < ($1.submission.period, $1.id) }.map(recorded)
    }

    func uinsBound(to contact: String) throws -> [String] {
        accounts.values.filter { $0.phones.contains(contact) || $0.emails.contains(contact) }.map(\.uin).sorted()
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        messages.append(message)
        return Int64(messages.count)
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        submissions.append(submission)
        senders.append(sender)
        return Int64(submissions.count)
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        replies.append(reply)
        return Int64(replies.count)
    }
}
