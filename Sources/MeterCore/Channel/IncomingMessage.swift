import Foundation

/// The two kinds of channel an abonent writes through.
public enum ChannelKind: String, Sendable, Hashable, Codable, CaseIterable {
    case sms
    case email
}

/// One message as a feed delivered it, before anything is decided about it.
///
/// `externalID` identifies the message at its source, qualified by the feed so that it
/// is unique per channel kind (e.g. `maildir:1732090000.M1P2.host`,
/// `imap:readings:INBOX:1700000000:42`, `gammu-files:IN20261120_081500_00_+7903…_00.txt`).
/// The ledger keeps `UNIQUE(channel, external_id)`: a message fetched twice is seen once.
public struct IncomingMessage: Sendable, Hashable {
    public var channel: ChannelKind
    /// The configured feed's name (`readings`, `gateway`, `maildir`, …); for logs and status.
    public var feed: String
    public var externalID: String
    /// Phone number or e-mail address as the source gives it; `nil` when unknown.
    public var sender: String?
    /// SMS text, or the body of an e-mail given without `raw`.
    public var text: String?
    /// E-mail subject when given without `raw`.
    public var subject: String?
    /// A whole RFC 5322 message exactly as fetched; parsed by the MIME reader.
    public var raw: [UInt8]?
    public var receivedAt: Date
    /// The UTC offset the source wrote with `receivedAt` (seconds), when it wrote one: the
    /// abonent's local day decides the billing period unless `policy.timezone` is set.
    public var utcOffset: Int?

    public init(
        channel: ChannelKind, feed: String, externalID: String, sender: String?,
        text: String? = nil, subject: String? = nil, raw: [UInt8]? = nil, receivedAt: Date, utcOffset: Int? = nil
    ) {
        self.channel = channel
        self.feed = feed
        self.externalID = externalID
        self.sender = sender
        self.text = text
        self.subject = subject
        self.raw = raw
        self.receivedAt = receivedAt
        self.utcOffset = utcOffset
    }
}

/// A feed of incoming messages: a mailbox, an SMS inbox.
///
/// The pipeline calls `poll()`, stores every returned message durably, and only then calls
/// `acknowledge(_:)` with the ids that are safely in the ledger (including ones the ledger
/// had already seen). A source must tolerate being polled again before an acknowledgement
/// (after a crash it will be): returning a message twice is harmless, losing one is not.
public protocol MessageSource: Sendable {
    var name: String { get }
    var channel: ChannelKind { get }
    /// New messages, oldest first, at most `limit`.
    func poll(limit: Int) async throws -> [IncomingMessage]
    /// Marks messages as done at the source (flag, move, delete, mark processed).
    func acknowledge(_ externalIDs: [String]) async throws
}

/// A reply waiting in the outbox, as handed to a transport.
public struct OutgoingReply: Sendable, Hashable {
    public var id: Int64
    public var channel: ChannelKind
    public var recipient: String
    /// E-mail only: the subject (`Re: …`), message ids for RFC 3834 threading.
    public var subject: String?
    public var inReplyTo: String?
    public var references: [String]
    public var body: String
    public var createdAt: Date

    public init(
        id: Int64, channel: ChannelKind, recipient: String, subject: String? = nil,
        inReplyTo: String? = nil, references: [String] = [], body: String, createdAt: Date
    ) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.body = body
        self.createdAt = createdAt
    }
}

/// What a transport says about one delivery attempt.
public enum DeliveryResult: Sendable, Hashable {
    case delivered
    /// Try again later (server down, 4xx).
    case retry(DeliveryFailure)
    /// Give up on this reply (5xx, invalid recipient); kept for the operator.
    case failed(DeliveryFailure)
}

/// Sends replies of one channel kind: SMTP, an SMS gateway, or files in `outbox/`.
public protocol ReplyTransport: Sendable {
    var name: String { get }
    func deliver(_ reply: OutgoingReply) async -> DeliveryResult
}

/// A transport that hands several replies to its peer at once (one transaction at Gammu
/// SMSD's database instead of one per reply). The dispatcher gives it batches in which each
/// recipient appears at most once; the results come back in the batch's order.
public protocol BatchReplyTransport: ReplyTransport {
    func deliver(batch replies: [OutgoingReply]) async -> [DeliveryResult]
}
