import Foundation

/// What every feed (mailbox, SMS inbox, provider) keeps across restarts in the ledger: its
/// cursor, the result of its last poll, and what the ledger already holds of it.
public protocol FeedStateStore: Sendable {
    /// The feed's cursor (IMAP `UIDVALIDITY:UID`, a provider's last id), nil when none was saved.
    func cursor(feed: String) async throws -> String?
    func saveCursor(_ cursor: String, feed: String) async throws
    /// Records a poll: its error, or its success (which ends a run of failures).
    func recordPoll(feed: String, error: String?, at date: Date) async throws
    /// Every feed that has polled, by name.
    func feedStates() async throws -> [FeedState]
    /// Which of `externalIDs` the ledger holds for `channel`.
    func knownExternalIDs(channel: String, _ externalIDs: [String]) async throws -> Set<String>
    /// Calls `body` with the raw bytes of every message of `feed` on `channel` that kept them
    /// (on the store's own thread).
    func forEachRawMessage(feed: String, channel: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async throws
}
