import Foundation
import Ledger
import ReadingsGrammar

/// A message after the pure work (MIME, parsing) and before the ledger: can be prepared on
/// any thread, in parallel, and recorded later inside a transaction.
public struct PreparedMessage: Sendable {
    public enum Verdict: Sendable {
        case parsed(ParseResult)
        case ignored(OutcomeReason)
        case tooLarge
    }

    public var incoming: IncomingMessage
    public var verdict: Verdict
    /// Normalised sender: E.164 phone or lower-cased address; the key for limits and binding.
    public var sender: String?
    /// E-mail: whether the receiving server authenticated the `From` domain (see
    /// `MessageProcessor.trustedAuthServIDs`); nil for SMS and for mail given without its raw
    /// form (a replay line's `subject`/`text`). Decides which hourly limit counts the message.
    public var senderAuthenticated: Bool?
    /// Where a reply goes (Reply-To or From for e-mail, the phone for SMS); nil: cannot answer.
    public var replyRecipient: String?
    /// What is kept as the message's text in the ledger.
    public var subject: String?
    public var text: String?
    /// E-mail threading for the reply.
    public var replySubject: String?
    public var inReplyTo: String?
    public var references: [String]
    /// Accounts looked up before the transaction (`AccountReader`), keyed by UIN, nil for an
    /// unknown one; a UIN not in here is looked up inside the transaction.
    public var accounts: [String: Account?] = [:]
    /// The time the source stated, when it was outside the believable window and the time of
    /// receipt was used instead (`incoming.receivedAt` is then the time of receipt).
    public var statedTime: Date?

    /// Every UIN any interpretation names.
    public var candidateUINs: [String] {
        guard case .parsed(let parse) = verdict else { return [] }
        return parse.interpretations.flatMap { $0.submissions.map(\.uin) }
    }
}

/// A recorded message: its outcome, whether it was new, and the operator's log line.
public struct ProcessedMessage: Sendable {
    public var outcome: Outcome
    /// The contract's outcome line, as stored in the ledger.
    public var outcomeJSON: String
    /// False when the ledger already had this message (nothing written).
    public var isNew: Bool
    public var replyQueued: Bool
    /// The normalised sender (unmasked: mask before logging).
    public var sender: String?
    public var channel: ChannelKind
    public var feed: String
    public var externalID: String
    /// The time the source stated, when the time of receipt replaced it (see `MessageProcessor.pastLimit`).
    public var statedTime: Date?

    /// The operator's log line, senders masked (built only when logged).
    public var logLine: String {
        OutcomeLogLine.text(
            outcome, channel: channel, feed: feed, sender: sender, replyQueued: replyQueued, statedTime: statedTime)
    }
}
