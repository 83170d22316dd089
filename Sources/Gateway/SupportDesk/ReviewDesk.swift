import Foundation
import Ledger
import MeterCore

/// The one code path of a review decision, for `metergate review approve|reject` and the
/// console alike: the ledger's `decide` with the reply the templates give the outcome.
package enum ReviewDesk {
    /// Approves or rejects held submission `id` and queues the reply, in one transaction;
    /// throws `LedgerError` `.notFound` when no such held reading waits.
    package static func decide(
        _ id: Int64, _ decision: ReviewDecision, ledger: any OperatorViews, templates: ReplyTemplates
    ) async throws -> HeldSubmission {
        try await ledger.decide(submission: id, decision) { held in
            guard let recipient = held.sender, let channel = ChannelKind(rawValue: held.channel) else { return nil }
            let result = SubmissionOutcome(
                uin: held.uin, status: decision == .approve ? .accepted : .rejected,
                reason: decision == .approve ? nil : .reviewRejected, meters: held.meters, readings: held.values)
            let outcome = Outcome(id: String(held.id), status: result.status, reason: result.reason, results: [result], reply: nil)
            guard let body = templates.render(outcome, channel: channel, bound: false) else { return nil }
            return NewReply(
                messageID: held.messageID, channel: held.channel, recipient: recipient,
                subject: channel == .email ? OutgoingReply.emailSubject : nil, inReplyTo: nil, references: [], body: body,
                state: .pending)
        }
    }
}
