/// What a mailbox poll saw on the server, next to what metergate made of it: for `/metrics`
/// and for `/healthz`, which fails when the same message stays unfetched poll after poll.
public struct MailboxObservation: Sendable, Hashable {
    /// Messages in the mailbox (IMAP `EXISTS`, POP3 the listed ones).
    public var serverMessages: Int
    /// IMAP: the server's count of unseen messages (`\Seen` unset); nil for POP3 or when unknown.
    public var serverUnseen: Int?
    /// The server's messages that the ledger does not hold: IMAP the unseen ones (of the oldest
    /// 200 checked), POP3 the listed UIDLs; nil when unknown.
    public var serverUnfetched: Int?
    /// Ours: the messages this poll found new by its own listing (IMAP: from the cursor on).
    public var listedNew: Int
    /// The external id of the oldest message the server has and the ledger does not; nil: none.
    public var oldestUnfetched: String?

    public init(serverMessages: Int, serverUnseen: Int? = nil, serverUnfetched: Int? = nil, listedNew: Int = 0, oldestUnfetched: String? = nil) {
        self.serverMessages = serverMessages
        self.serverUnseen = serverUnseen
        self.serverUnfetched = serverUnfetched
        self.listedNew = listedNew
        self.oldestUnfetched = oldestUnfetched
    }
}

/// A source that reports what its last successful poll saw of the server.
public protocol MailboxObserving: Sendable {
    func lastObservation() async -> MailboxObservation?
}
