/// Recording messages: everything a batch of messages changes (their rows, submissions and
/// replies), written through one `LedgerTransaction` and committed at once.
///
/// The commit is durable when `transaction` returns (SQLite: WAL with `synchronous = FULL`):
/// a source may be acknowledged right after it, never before.
public protocol MessageRecording: Sendable {
    /// Runs `body` in one write transaction (group commit: any number of messages); commits
    /// when it returns, rolls back when it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any LedgerTransaction) throws -> T) async throws -> T
}
