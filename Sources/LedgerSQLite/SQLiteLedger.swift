import Foundation
import GRDB
import Ledger

/// The ledger in one SQLite file: accounts, messages, submissions, outbox, feeds.
///
/// One `DatabaseQueue` per process, in WAL mode with `synchronous = FULL`: a transaction
/// that returned is on disk, so a source may be acknowledged right after it.
public final class SQLiteLedger: Sendable {
    let dbQueue: DatabaseQueue
    /// Prepared statements of the message path, for `dbQueue`'s single connection.
    let statements = RawStatements()
    /// Checkpoints the WAL off the writer's thread.
    let checkpointer: WALCheckpointer
    public let path: String

    /// Opens (creating when missing) and migrates the ledger at `path`.
    public convenience init(path: String) throws {
        try self.init(path: path, checkpointFrames: 8192)
    }

    /// `checkpointFrames`: the WAL length (pages) that starts a checkpoint (tests use small ones).
    init(path: String, checkpointFrames: Int32) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LedgerError(.open, "cannot create the store's folder \(directory.path)", cause: error)
        }
        _ = Self.tuneSQLite
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL is set here rather than with `journalMode = .wal`, because GRDB's WAL setup
            // runs after this closure and lowers `synchronous` to NORMAL. A commit must be
            // durable (fsync'd) before the source is acknowledged: FULL.
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else {
                throw LedgerError(.open, "cannot switch the store to WAL mode (journal_mode is \(mode ?? "?"))")
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Random-key indexes (senders, UINs) of a store with millions of messages want
            // more than SQLite's 2 MiB page cache (128 MiB at most; pages are allocated only as they
            // are read, so an idle daemon stays small).
            try db.execute(sql: "PRAGMA cache_size = -131072")
            // The WAL file is cut back to 64 MiB after a checkpoint emptied it.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        do {
            dbQueue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw LedgerError(.open, "cannot open the store \(path)", cause: error)
        }
        do {
            try Self.migrator.migrate(dbQueue)
        } catch {
            throw LedgerError(.migrate, "cannot migrate the store \(path)", cause: error)
        }
        // Checkpoint every ~32 MiB of WAL rather than 4 MiB (index pages written by many group
        // commits are copied to the database once), on a connection of its own.
        do {
            checkpointer = try WALCheckpointer(path: path, threshold: checkpointFrames)
        } catch {
            throw LedgerError(.open, "cannot open the store \(path) for checkpoints", cause: error)
        }
        let checkpointer = self.checkpointer
        dbQueue.inDatabase { db in
            if let connection = db.sqliteConnection { checkpointer.install(on: connection) }
        }
    }

    /// Runs `body` in one write transaction (group commit: any number of messages), blocking
    /// the calling thread: for threads of their own (never a task; see `assertNotOnCooperativePool`).
    public func transactionBlocking<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        assertNotOnCooperativePool()
        do {
            return try dbQueue.write { db in try body(SQLiteLedgerTransaction(db: db, statements: statements)) }
        } catch let error as DatabaseError {
            // A full disk, an I/O error: name the store, keep SQLite's error.
            throw refused(error, .write)
        }
    }

    /// Runs `body` in one write transaction on GRDB's serial queue, off the cooperative pool.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any LedgerTransaction) throws -> T) async throws -> T {
        let statements = self.statements
        do {
            return try await dbQueue.write { db in try body(SQLiteLedgerTransaction(db: db, statements: statements)) }
        } catch let error as DatabaseError {
            throw refused(error, .write)
        }
    }

    /// The `synchronous` pragma in force (2 = FULL); for tests.
    public func synchronousMode() async throws -> Int {
        try await dbQueue.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func journalMode() async throws -> String {
        try await dbQueue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Reads on GRDB's serial queue (off the cooperative pool).
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await dbQueue.read(body)
        } catch let error as DatabaseError {
            throw refused(error, .read)
        }
    }

    /// Writes in one transaction on GRDB's serial queue (off the cooperative pool).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await dbQueue.write(body)
        } catch let error as DatabaseError {
            throw refused(error, .write)
        }
    }

    /// SQLite's error as a `LedgerError` that keeps it as its cause: a constraint is a
    /// `.conflict` (a message recorded twice), anything else the operation's code.
    func refused(_ error: DatabaseError, _ code: LedgerError.Code, file: String = #fileID, line: Int = #line) -> LedgerError {
        if error.resultCode == .SQLITE_CONSTRAINT {
            return LedgerError(.conflict, "the store \(path) refused a duplicate or inconsistent row", cause: error, file: file, line: line)
        }
        return LedgerError(code, "the store \(path) refused the \(code == .read ? "read" : "write")", cause: error, file: file, line: line)
    }
}

extension SQLiteLedger: LedgerDriver {
    public var location: String { path }

    /// Waits for a checkpoint in progress and closes the connections; later calls fail.
    public func close() async throws {
        let statements = self.statements
        try await dbQueue.writeWithoutTransaction { db in
            statements.removeAll()
            // What the log holds goes into the database file before the connections close.
            _ = try? db.checkpoint(.passive)
        }
        try await checkpointer.close()
        let dbQueue = self.dbQueue
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try dbQueue.close() }) }
        }
    }
}

/// Opens the ledger in SQLite: the one way in for code outside this module.
public enum SQLiteStore {
    /// Opens (creating when missing) and migrates the ledger file at `path`, blocking the
    /// calling thread.
    public static func open(path: String) throws -> any LedgerDriver {
        try SQLiteLedger(path: path)
    }

    /// Opens and migrates the ledger file at `path` on a thread of its own, off the cooperative
    /// pool (a migration of a large store takes a while).
    public static func open(path: String) async throws -> any LedgerDriver {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try SQLiteLedger(path: path) as any LedgerDriver })
            }
        }
    }
}

extension SQLiteLedger {
    static func joined(_ values: [String]) -> String { values.joined(separator: ";") }
    static func joined(_ values: [String?]) -> String { values.map { $0 ?? "" }.joined(separator: ";") }
    static func split(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
    }
    static func splitOptional(_ text: String) -> [String?] {
        split(text).map { $0.isEmpty ? nil : $0 }
    }
}
