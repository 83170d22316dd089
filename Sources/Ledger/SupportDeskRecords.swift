import Foundation

/// What the support desk asks for (`metergate messages`, the web console): messages by sender,
/// by account, by time and by status, newest first.
public struct MessageQuery: Sendable, Hashable {
    /// The normalised sender (E.164 phone or lower-cased address), matched exactly.
    public var sender: String?
    /// Messages with a result for this account (any status, rejected ones too).
    public var uin: String?
    /// Received at or after.
    public var since: Date?
    /// Received before.
    public var until: Date?
    /// The message's top-level status (`accepted`, `held`, …).
    public var status: String?
    public var limit: Int
    /// Only messages with an id below this one (the next page, newest first).
    public var beforeID: Int64?

    public init(
        sender: String? = nil, uin: String? = nil, since: Date? = nil, until: Date? = nil, status: String? = nil,
        limit: Int = 50, beforeID: Int64? = nil
    ) {
        self.sender = sender
        self.uin = uin
        self.since = since
        self.until = until
        self.status = status
        self.limit = limit
        self.beforeID = beforeID
    }
}

/// A recorded message with its outcome and its reply's fate, as the support desk shows it.
public struct MessageRecord: Sendable, Hashable {
    /// The ledger's own id (the console's message page).
    public var id: Int64
    public var channel: String
    /// The channel's id of the message (the `id` of `messages --format json`).
    public var externalID: String
    public var feed: String
    public var sender: String?
    public var receivedAt: Date
    public var subject: String?
    /// What the parser read (the SMS text, or the mail's body lines).
    public var text: String?
    public var status: String
    public var reason: String?
    /// The outcome as recorded (`NewMessage.outcomeJSON`).
    public var outcomeJSON: String
    public var reply: String?
    /// The queued replies of the message, oldest first (a review decision adds one).
    public var replies: [ReplyRecord]

    public init(
        id: Int64, channel: String, externalID: String, feed: String, sender: String?, receivedAt: Date, subject: String?,
        text: String?, status: String, reason: String?, outcomeJSON: String, reply: String?, replies: [ReplyRecord]
    ) {
        self.id = id
        self.channel = channel
        self.externalID = externalID
        self.feed = feed
        self.sender = sender
        self.receivedAt = receivedAt
        self.subject = subject
        self.text = text
        self.status = status
        self.reason = reason
        self.outcomeJSON = outcomeJSON
        self.reply = reply
        self.replies = replies
    }

    /// The reply's state (contract §5): `pending`, `sent`, `failed`, `expired`, `held` (in
    /// doubt: its data went to the server, no answer came), `replay-only` (recorded, never to
    /// be sent), or nil when the message has no reply. The first queued reply is the message's own.
    public var replyState: String? {
        guard reply != nil || !replies.isEmpty else { return nil }
        guard let first = replies.first else { return "replay-only" }
        return first.displayState
    }
}

/// One reply in the outbox and its delivery so far.
public struct ReplyRecord: Sendable, Hashable {
    public var id: Int64
    public var channel: String
    public var recipient: String
    public var body: String
    /// The outbox state: `pending`, `sent`, `failed`, `expired`, `recorded`.
    public var state: String
    public var attempts: Int
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?
    /// When the end of its data went to the server (a reply in doubt has this and no `sentAt`).
    public var dataSentAt: Date?

    public init(
        id: Int64, channel: String, recipient: String, body: String, state: String, attempts: Int, lastError: String?,
        createdAt: Date, sentAt: Date?, dataSentAt: Date?
    ) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.body = body
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
        self.dataSentAt = dataSentAt
    }

    /// The state as the contract names it (`recorded` reads `replay-only`; a failed reply whose
    /// data went out reads `held`).
    public var displayState: String {
        switch state {
        case "recorded": "replay-only"
        case "failed" where dataSentAt != nil && sentAt == nil: "held"
        default: state
        }
    }
}

/// One recorded result of an account (its history on the console).
public struct AccountSubmission: Sendable, Hashable {
    public var id: Int64
    public var messageID: Int64
    public var period: String
    public var status: String
    public var reason: String?
    public var meters: [String]
    public var values: [String]
    public var channel: String
    public var receivedAt: Date
    public var superseded: Bool

    public init(
        id: Int64, messageID: Int64, period: String, status: String, reason: String?, meters: [String], values: [String],
        channel: String, receivedAt: Date, superseded: Bool
    ) {
        self.id = id
        self.messageID = messageID
        self.period = period
        self.status = status
        self.reason = reason
        self.meters = meters
        self.values = values
        self.channel = channel
        self.receivedAt = receivedAt
        self.superseded = superseded
    }
}

/// A count of one day (days since 1970 at the caller's UTC offset) and one key.
public struct DailyCount: Sendable, Hashable {
    public var day: Int
    public var key: String
    public var count: Int

    public init(day: Int, key: String, count: Int) {
        self.day = day
        self.key = key
        self.count = count
    }
}
