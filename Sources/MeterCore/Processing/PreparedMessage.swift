import Foundation
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
    /// Where a reply goes (Reply-To or From for e-mail, the phone for SMS); nil: cannot answer.
    public var replyRecipient: String?
    /// What is kept as the message's text in the ledger.
    public var subject: String?
    public var text: String?
    /// E-mail threading for the reply.
    public var replySubject: String?
    public var inReplyTo: String?
    public var references: [String]
}

/// A recorded message: its outcome, whether it was new, and the operator's log line.
public struct ProcessedMessage: Sendable {
    public var outcome: Outcome
    /// False when the ledger already had this message (nothing written).
    public var isNew: Bool
    public var replyQueued: Bool
    public var logLine: String
    public var channel: ChannelKind
    public var feed: String
    public var externalID: String
}
