/// The whole ledger behind one boundary: SQLite (`LedgerSQLite`), memory (`InMemoryLedger`,
/// for tests), PostgreSQL later. The rest of the code names these protocols, never a driver.
public protocol LedgerDriver: MessageRecording, OutboxQueue, FeedStateStore, OperatorViews, BillingExchange {
    /// Where the ledger lives, for messages (`status`, errors); never holds a password.
    var location: String { get }
    /// Waits for background work (checkpoints) and releases the connections; called once,
    /// after the last use.
    func close() async throws
}
