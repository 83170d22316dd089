import Gateway
import Ledger
import LedgerSQLite
import MailChannels

/// The mail sources' memory across restarts, kept in the ledger: the IMAP cursor in the feed row,
/// and what the message table already holds.
struct LedgerMailboxState: MailboxStateStore {
    let ledger: SQLiteLedger

    func cursor(feed: String) async throws -> String? {
        try ledger.feedCursor(feed: feed)
    }

    func saveCursor(_ cursor: String, feed: String) async throws {
        try ledger.saveFeedCursor(cursor, feed: feed)
    }

    func knownExternalIDs(_ ids: [String]) async throws -> Set<String> {
        try ledger.knownExternalIDs(channel: "email", ids)
    }

    func recordedFingerprints(feed: String) async throws -> Set<String> {
        var fingerprints = Set<String>()
        try ledger.forEachRawMessage(feed: feed, channel: "email") { fingerprints.insert(MessageFingerprint.of($0)) }
        return fingerprints
    }
}
