import Foundation
import Failures

/// An abonent's account as billing exported it.
public struct Account: Sendable, Hashable {
    public var uin: String
    /// Labels of the expected readings, in order (`T1`, `T2`, `T3`, `M1`, …).
    public var meters: [String]
    /// Last readings billing accepted, same order; `nil` where unknown. Normalised decimals.
    public var previous: [String?]
    /// Integer digits of the meter register (5: 99999 wraps to 00000).
    public var digits: Int?
    /// Phone numbers (E.164) and e-mail addresses (lower-cased) bound to the account.
    public var phones: [String]
    public var emails: [String]

    public init(
        uin: String, meters: [String], previous: [String?] = [], digits: Int? = nil,
        phones: [String] = [], emails: [String] = []
    ) {
        self.uin = uin
        self.meters = meters
        self.previous = previous
        self.digits = digits
        self.phones = phones
        self.emails = emails
    }
}

/// A message and its outcome, written once.
public struct NewMessage: Sendable {
    public var channel: String
    public var externalID: String
    public var feed: String
    public var sender: String?
    public var receivedAt: Date
    public var subject: String?
    public var text: String?
    public var raw: [UInt8]?
    public var status: String
    public var reason: String?
    /// The outcome as JSON (results per UIN), for the operator and for `status`.
    public var outcomeJSON: String
    public var reply: String?
    /// E-mail: whether the receiving server authenticated the `From` domain (DMARC or SPF
    /// pass); the per-sender hourly limit counts authenticated and other mail apart. `nil`
    /// where the channel has no such notion (SMS, a replay line without the raw mail).
    public var senderAuthenticated: Bool?
    /// The UINs of the outcome's results, whatever their status (the support desk finds a
    /// message by account through them).
    public var uins: [String]
    /// Those of `uins` that get a submission in the same transaction (`insertSubmission` with
    /// this message's id): a ledger may find the message by them through its submissions and
    /// keep only the other UINs apart. Empty (the default) promises nothing.
    public var submittedUINs: [String]

    public init(
        channel: String, externalID: String, feed: String, sender: String?, receivedAt: Date,
        subject: String?, text: String?, raw: [UInt8]?, status: String, reason: String?,
        outcomeJSON: String, reply: String?, senderAuthenticated: Bool? = nil, uins: [String] = [],
        submittedUINs: [String] = []
    ) {
        self.channel = channel
        self.externalID = externalID
        self.feed = feed
        self.sender = sender
        self.receivedAt = receivedAt
        self.subject = subject
        self.text = text
        self.raw = raw
        self.status = status
        self.reason = reason
        self.outcomeJSON = outcomeJSON
        self.reply = reply
        self.senderAuthenticated = senderAuthenticated
        self.uins = uins
        self.submittedUINs = submittedUINs
    }
}

/// One UIN's recorded result (accepted, held or duplicate) with its readings.
public struct NewSubmission: Sendable {
    public var messageID: Int64
    public var uin: String
    /// Billing period, `YYYY-MM`.
    public var period: String
    public var status: String
    public var reason: String?
    public var meters: [String]
    public var values: [String]
    public var previous: [String?]
    /// Whether the sender is bound to the account: nil when the account binds no phone or
    /// address; `false` marks a submission from a sender the account does not know (it may be
    /// the abonent's other phone), which a bound sender's later submission replaces without review.
    public var senderBound: Bool?

    public init(
        messageID: Int64, uin: String, period: String, status: String, reason: String?,
        meters: [String], values: [String], previous: [String?], senderBound: Bool? = nil
    ) {
        self.messageID = messageID
        self.uin = uin
        self.period = period
        self.status = status
        self.reason = reason
        self.meters = meters
        self.values = values
        self.previous = previous
        self.senderBound = senderBound
    }
}

/// A reply to put in the outbox.
public struct NewReply: Sendable {
    public enum State: String, Sendable {
        /// Waiting for a transport.
        case pending
        /// Recorded by `replay`, never to be sent.
        case recorded
    }

    public var messageID: Int64?
    public var channel: String
    public var recipient: String
    public var subject: String?
    public var inReplyTo: String?
    public var references: [String]
    public var body: String
    public var state: State

    public init(
        messageID: Int64?, channel: String, recipient: String, subject: String?,
        inReplyTo: String?, references: [String], body: String, state: State
    ) {
        self.messageID = messageID
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.body = body
        self.state = state
    }
}

/// A reply as stored in the outbox.
public struct StoredReply: Sendable, Hashable {
    public var id: Int64
    public var channel: String
    public var recipient: String
    public var subject: String?
    public var inReplyTo: String?
    public var references: [String]
    public var body: String
    public var attempts: Int
    public var createdAt: Date

    public init(id: Int64, channel: String, recipient: String, subject: String?, inReplyTo: String?, references: [String], body: String, attempts: Int, createdAt: Date) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.body = body
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// A recorded submission as the corrections model reads it back (contract §6).
public struct RecordedSubmission: Sendable, Hashable {
    public var id: Int64
    /// Billing period, `YYYY-MM`.
    public var period: String
    /// `accepted` or `held` (a duplicate never counts).
    public var status: String
    public var meters: [String]
    public var values: [String]
    public var sender: String?
    /// As recorded (`NewSubmission.senderBound`).
    public var senderBound: Bool?
    public var receivedAt: Date

    public init(
        id: Int64, period: String, status: String, meters: [String], values: [String], sender: String?,
        senderBound: Bool?, receivedAt: Date
    ) {
        self.id = id
        self.period = period
        self.status = status
        self.meters = meters
        self.values = values
        self.sender = sender
        self.senderBound = senderBound
        self.receivedAt = receivedAt
    }

    /// The values by meter label.
    public var valuesByMeter: [String: String] {
        var map: [String: String] = [:]
        for (meter, value) in zip(meters, values) { map[meter] = value }
        return map
    }
}

/// What the ledger holds of an account for a new submission in a billing period: the
/// validator's one question under the corrections model (contract §6).
///
/// Within a period the latest submission counts: a new one with other readings replaces the
/// one that counts now, and is checked against the period before, never against it. Replaced
/// submissions are kept and marked superseded; they count for nothing here.
public struct PeriodState: Sendable, Hashable {
    /// The readings of the period before, by meter label: the accepted submission that counts
    /// in the latest earlier period that has one; empty when none (the account's `previous`
    /// applies then).
    public var earlierAccepted: [String: String]
    /// The submission that counts now in the period: the latest accepted one not superseded,
    /// else the latest held one not superseded; nil when the period has neither.
    public var current: RecordedSubmission?
    /// A submission of the period not superseded (accepted or held) has exactly these values.
    public var alreadyRecorded: Bool
    /// The period has a submission not superseded (accepted, held or duplicate): a new one that
    /// counts must supersede them (`LedgerTransaction.supersede`).
    public var hasUnsuperseded: Bool

    public init(earlierAccepted: [String: String], current: RecordedSubmission?, alreadyRecorded: Bool, hasUnsuperseded: Bool) {
        self.earlierAccepted = earlierAccepted
        self.current = current
        self.alreadyRecorded = alreadyRecorded
        self.hasUnsuperseded = hasUnsuperseded
    }
}

/// One row of `readings export`.
public struct ExportRow: Sendable, Hashable {
    public var uin: String
    public var meter: String
    public var value: String
    public var previous: String?
    public var receivedAt: String
    public var channel: String
    public var sender: String?
    /// `accepted`, `held`, `duplicate`, or `superseded` (replaced by a later correction of the
    /// same period; exported only when asked for all).
    public var status: String
    public var messageID: String

    public init(uin: String, meter: String, value: String, previous: String?, receivedAt: String, channel: String, sender: String?, status: String, messageID: String) {
        self.uin = uin
        self.meter = meter
        self.value = value
        self.previous = previous
        self.receivedAt = receivedAt
        self.channel = channel
        self.sender = sender
        self.status = status
        self.messageID = messageID
    }
}

/// A held submission waiting for an operator.
public struct HeldSubmission: Sendable, Hashable {
    public var id: Int64
    public var uin: String
    public var meters: [String]
    public var values: [String]
    public var previous: [String?]
    public var channel: String
    public var sender: String?
    public var receivedAt: String
    public var text: String
    public var messageID: Int64
    /// Why it is held: `implausible`, `unverified_correction`.
    public var reason: String?

    public init(id: Int64, uin: String, meters: [String], values: [String], previous: [String?], channel: String, sender: String?, receivedAt: String, text: String, messageID: Int64, reason: String? = nil) {
        self.id = id
        self.uin = uin
        self.meters = meters
        self.values = values
        self.previous = previous
        self.channel = channel
        self.sender = sender
        self.receivedAt = receivedAt
        self.text = text
        self.messageID = messageID
        self.reason = reason
    }
}

/// A feed's health as the ledger remembers it.
public struct FeedState: Sendable, Hashable {
    public var feed: String
    public var lastPollAt: Date?
    public var lastSuccessAt: Date?
    public var lastError: String?
    public var lastErrorAt: Date?
    public var consecutiveFailures: Int

    public init(feed: String, lastPollAt: Date?, lastSuccessAt: Date?, lastError: String?, lastErrorAt: Date?, consecutiveFailures: Int) {
        self.feed = feed
        self.lastPollAt = lastPollAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.consecutiveFailures = consecutiveFailures
    }
}

/// A failure of the ledger: what kind (`code`, to catch by), the operator's words, the storage
/// engine's own error kept as an error (GRDB's `DatabaseError` with SQLite's result code, a
/// `PostgresError` with its SQLSTATE), and where it was raised.
public struct LedgerError: CodedError, Sendable {
    public enum Code: String, Sendable, CustomStringConvertible {
        case open, migrate, write, read, notFound, conflict

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String
    /// The error underneath, as the engine threw it.
    public var cause: (any Error)?
    /// Where it was raised (`#fileID`, `#line`).
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// The earlier spelling of `init(_:_:cause:)`.
    public init(_ code: Code, _ message: String, underlying: (any Error)?, file: String = #fileID, line: Int = #line) {
        self.init(code, message, cause: underlying, file: file, line: line)
    }

    public var location: SourceLocation? { SourceLocation(file: file, line: line) }

    public var description: String {
        cause.map { "\(message): \($0)" } ?? message
    }
}
