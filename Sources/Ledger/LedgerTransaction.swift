import Foundation

/// What message processing needs from the ledger inside one transaction.
///
/// Everything one message changes (its row, its submissions, its reply) is written through
/// one `LedgerTransaction`, so it is committed atomically; several messages may share a
/// transaction (group commit). Implemented by the SQLite ledger and `InMemoryLedger`; a PostgreSQL backend
/// implements the same protocol.
///
/// Submissions follow the corrections model (contract §6): within an account's billing period
/// the latest submission counts; the ones it replaced stay recorded, marked superseded
/// (`supersede`), and count for nothing afterwards: not for `periodState`, not for
/// `latestAccepted`, `lastAccepted` or `hasRecorded`, not in the review queue, and not in
/// `readings export` unless it asks for all.
public protocol LedgerTransaction {
    func hasMessage(channel: String, externalID: String) throws -> Bool
    /// Messages from `sender` received at or after `since`, on any channel.
    func countMessages(sender: String, since: Date) throws -> Int
    /// Messages from `sender` received at or after `since` that were recorded with
    /// `NewMessage.senderAuthenticated == authenticated` (e-mail whose `From` the receiving
    /// server did, or did not, authenticate); rows recorded without the flag are not counted.
    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int
    /// Replies queued to `recipient` (not the ones replay only recorded) created since `since`.
    func countReplies(recipient: String, since: Date) throws -> Int
    func account(uin: String) throws -> Account?
    /// The latest accepted values of an account (not superseded), one per meter label.
    func latestAccepted(uin: String) throws -> [String: String]
    /// Whether the same values were already recorded (accepted or held, not superseded) for the period.
    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool
    /// Both of the above in one look at the account's history (the validator's question before
    /// corrections; `periodState` is the one it asks now).
    func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool)
    /// The validator's question under the corrections model, in one look at the account's
    /// submissions: the period before's accepted readings, the submission of `period` that
    /// counts now, and whether `values` are already recorded in `period`.
    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState
    /// Marks every submission of the account's `period` (accepted, held, duplicate) other than
    /// `id`, and not yet superseded, as superseded by submission `id`; returns how many. Held
    /// submissions recorded after `id` are left alone: they wait for their own decision. Called
    /// when `id` becomes the one that counts: an accepted correction, an approved held reading.
    @discardableResult
    func supersede(uin: String, period: String, by id: Int64) throws -> Int
    /// The accepted submission that counts in the account's latest period with one (the
    /// history an abonent asks for); nil when the ledger has none.
    func lastAccepted(uin: String) throws -> RecordedSubmission?
    /// The UINs of the accounts that bind `contact` (a normalised phone number or a
    /// lower-cased e-mail address), sorted.
    func uinsBound(to contact: String) throws -> [String]
    func insertMessage(_ message: NewMessage) throws -> Int64
    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64
    func enqueueReply(_ reply: NewReply) throws -> Int64
    /// Told once, before a batch of messages is recorded, what the batch will ask about: a
    /// ledger on a database server may load the answers in a few statements instead of a round
    /// trip per question. A hint only: a question outside it is answered as usual.
    func prepare(for batch: LedgerBatchHint) throws
    /// Whether `prepare(for:)` uses its hint. An embedded store answers every question at once
    /// and says no: the batch's hint is then not built (it costs the single writer a few sets
    /// and sorts per batch). True unless a ledger says otherwise.
    var wantsBatchHint: Bool { get }
}

/// What a batch of messages will ask its transaction about (see `LedgerTransaction.prepare`).
public struct LedgerBatchHint: Sendable {
    /// The messages' channels and external IDs (`hasMessage`).
    public var messages: [(channel: String, externalID: String)] = []
    /// Their senders (`countMessages`), and the earliest time any of those counts starts at.
    public var senders: [String] = []
    public var sendersSince: Date?
    /// Every UIN the messages name (`periodState`, `supersede`, `lastAccepted`).
    public var uins: [String] = []
    /// The UINs whose accounts were not looked up before the transaction (`account`).
    public var accounts: [String] = []
    /// Where their replies would go (`countReplies`).
    public var recipients: [String] = []

    public init() {}
}

extension LedgerTransaction {
    /// Nothing to load ahead: every question is cheap (an embedded store).
    public func prepare(for batch: LedgerBatchHint) throws {}

    public var wantsBatchHint: Bool { true }

    public func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool) {
        (try latestAccepted(uin: uin), try hasRecorded(uin: uin, period: period, values: values))
    }
}
