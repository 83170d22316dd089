import Foundation

/// What message processing needs from the ledger inside one transaction.
///
/// Everything one message changes (its row, its submissions, its reply) is written through
/// one `LedgerTransaction`, so it is committed atomically; several messages may share a
/// transaction (group commit). Implemented by the SQLite ledger and `InMemoryLedger`; a PostgreSQL backend
/// implements the same protocol.
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
    /// The latest accepted values of an account, one per meter label.
    func latestAccepted(uin: String) throws -> [String: String]
    /// Whether the same values were already recorded (accepted or held) for the period.
    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool
    /// Both of the above in one look at the account's history (the validator's question).
    func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool)
    func insertMessage(_ message: NewMessage) throws -> Int64
    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64
    func enqueueReply(_ reply: NewReply) throws -> Int64
}

extension LedgerTransaction {
    public func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool) {
        (try latestAccepted(uin: uin), try hasRecorded(uin: uin, period: period, values: values))
    }
}
