import Foundation

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

    public init(
        channel: String, externalID: String, feed: String, sender: String?, receivedAt: Date,
        subject: String?, text: String?, raw: [UInt8]?, status: String, reason: String?,
        outcomeJSON: String, reply: String?, senderAuthenticated: Bool? = nil
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

    public init(
        messageID: Int64, uin: String, period: String, status: String, reason: String?,
        meters: [String], values: [String], previous: [String?]
    ) {
        self.messageID = messageID
        self.uin = uin
        self.period = period
        self.status = status
        self.reason = reason
        self.meters = meters
        self.values = values
        self.previous = previous
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

/// One row of `readings export`.
public struct ExportRow: Sendable, Hashable {
    public var uin: String
    public var meter: String
    public var value: String
    public var previous: String?
    public var receivedAt: String
    public var channel: String
    public var sender: String?
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

    public init(id: Int64, uin: String, meters: [String], values: [String], previous: [String?], channel: String, sender: String?, receivedAt: String, text: String, messageID: Int64) {
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

/// Errors of the ledger, with the operation that failed.
public struct LedgerError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case open, migrate, write, read, notFound, conflict
    }

    public var code: Code
    public var message: String
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String {
        underlying.map { "\(message): \($0)" } ?? message
    }
}
