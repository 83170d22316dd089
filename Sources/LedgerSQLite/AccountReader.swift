import GRDB
import Ledger

/// A read-only connection that looks accounts up outside the writer's transaction.
///
/// Accounts change only when billing's export is imported, never on the message path, so
/// the pure stage of a batch can look them up on every core while the single writer records
/// the batch before it. A message is then judged against the account as it stood a moment
/// before its transaction: the same as if it had been processed a moment earlier.
/// One reader per thread: its statements are not shared.
public final class AccountReader: AccountLookup, @unchecked Sendable {
    private let dbQueue: DatabaseQueue
    private let statements = RawStatements()

    init(path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        // The accounts' pages read through a memory map rather than a pread each: the readers'
        // own page caches are small and miss on almost every look-up of a 1M-account store.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 1073741824") }
        do {
            dbQueue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw LedgerError(.open, "cannot open the store \(path) for reading", cause: error)
        }
    }

    /// The accounts of `uins` (nil for an unknown UIN), read in one snapshot.
    public func accounts(_ uins: [String]) throws -> [String: Account?] {
        assertNotOnCooperativePool()
        return try dbQueue.read { db in
            let transaction = SQLiteLedgerTransaction(db: db, statements: statements)
            var found: [String: Account?] = [:]
            for uin in uins where found[uin] == nil {
                found[uin] = .some(try transaction.account(uin: uin))
            }
            return found
        }
    }
}

extension SQLiteLedger {
    /// A new read-only connection for account lookups off the writer (one per thread).
    public func makeAccountReader() throws -> AccountReader {
        try AccountReader(path: path)
    }

    public func makeAccountLookup() throws -> any AccountLookup {
        try makeAccountReader()
    }
}
