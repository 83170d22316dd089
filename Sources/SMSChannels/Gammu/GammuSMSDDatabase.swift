import Dispatch
import Foundation
import GRDB
import Ledger
import PostgreSQL
import Synchronization

/// A failure talking to Gammu SMSD's database: which database, what went wrong, the engine's
/// own error kept as an error (GRDB's `DatabaseError`, a `PostgresError` with its SQLSTATE), and
/// where it was raised.
public struct GammuSMSDError: Error, Sendable, CustomStringConvertible {
    public var database: String
    public var message: String
    public var cause: (any Error)?
    public var file: String
    public var line: Int

    public init(database: String, message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.database = database
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// The PostgreSQL failure underneath, when there is one.
    public var postgresError: PostgresError? { cause as? PostgresError }

    public var description: String {
        var text = "gammu-smsd database \(database): \(message)"
        if let cause, !message.contains(String(describing: cause)) { text += ": \(cause)" }
        return text
    }
}

/// Gammu SMSD's SQLite database (`service = sql`, `driver = sqlite3`), shared with the
/// running gammu-smsd: opened lazily (a missing file fails the poll, not the daemon), never
/// created, its journal mode left as SMSD set it, every statement waiting up to
/// `busyTimeout` for SMSD's locks — on the database's own serial queue, never on Swift's
/// cooperative pool (a wait for SMSD's lock would hold one of its threads). A task cancelled
/// while its statement runs interrupts it (`sqlite3_interrupt`).
public final class GammuSMSDDatabase: GammuSMSDStore {
    public let path: String
    public var label: String { path }
    public let busyTimeout: TimeInterval
    private let state = Mutex<Opened?>(nil)
    let sentItemsCheck = Mutex<Date>(.distantPast)

    struct Opened: Sendable {
        var queue: DatabaseQueue
        /// Columns of `inbox` (newer schemas add `MessageID`, `SequencePosition`, `PartCount`).
        var inboxColumns: Set<String>
    }

    /// Where every statement (and the opening) runs.
    private let executor: DispatchQueue

    public init(path: String, busyTimeout: TimeInterval = 10) {
        self.path = path
        self.busyTimeout = busyTimeout
        executor = DispatchQueue(label: "metergate.gammu-smsd.sqlite")
    }

    /// Rejects what can be neither an SMSD SQLite path nor a PostgreSQL URL, in one clear line.
    public static func validate(_ database: String) -> String? {
        if PostgresURL.isPostgresURL(database) {
            do {
                _ = try PostgresURL(parsing: database)
                return nil
            } catch {
                return "not a usable PostgreSQL URL: \(error.message)"
            }
        }
        if database.lowercased().contains("://") {
            return "'\(database)' is neither an SQLite file path (gammu-smsd with driver = sqlite3) nor a postgresql:// URL (driver = native_pgsql)"
        }
        return nil
    }

    func opened() throws -> Opened {
        assertNotOnCooperativePool()
        return try state.withLock { current in
            if let current { return current }
            guard FileManager.default.fileExists(atPath: path) else {
                throw GammuSMSDError(database: path, message: "no such file (is gammu-smsd running with service = sql, driver = sqlite3?)")
            }
            var configuration = Configuration()
            configuration.label = "gammu-smsd"
            configuration.busyMode = .timeout(busyTimeout)
            configuration.foreignKeysEnabled = false
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                let columns = try queue.read { db -> Set<String> in
                    let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                    let missing = ["inbox", "outbox", "sentitems"].filter { !tables.contains($0) }
                    guard missing.isEmpty else {
                        throw GammuSMSDError(database: path, message: "not an SMSD database: no table \(missing.joined(separator: ", "))")
                    }
                    return Set(try Row.fetchAll(db, sql: "PRAGMA table_info(inbox)").map { $0["name"] as String })
                }
                let opened = Opened(queue: queue, inboxColumns: columns)
                current = opened
                return opened
            } catch let error as GammuSMSDError {
                throw error
            } catch {
                throw GammuSMSDError(database: path, message: "cannot open the SQLite database", cause: error)
            }
        }
    }

    /// Runs `body` on the database's queue; cancelling the task interrupts the statement running.
    private func onExecutor<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                executor.async {
                    continuation.resume(with: Result { try body() })
                }
            }
        } onCancel: {
            interruptRunningStatement()
        }
    }

    /// `sqlite3_interrupt` of the open connection (safe from any thread).
    private func interruptRunningStatement() {
        state.withLock { current in current?.queue.interrupt() }
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`, so SMSD's writer waits or we do),
    /// off the cooperative pool.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await onExecutor { try self.writeBlocking(body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database, Set<String>) throws -> T) async throws -> T {
        try await onExecutor { try self.readBlocking(body) }
    }

    /// Blocking: the database's queue only.
    private func writeBlocking<T>(_ body: (Database) throws -> T) throws -> T {
        let queue = try opened().queue
        do {
            var value: T?
            try queue.inTransaction(.immediate) { db in
                value = try body(db)
                return .commit
            }
            return value!
        } catch let error as GammuSMSDError {
            throw error
        } catch {
            throw GammuSMSDError(database: path, message: "the statement failed", cause: error)
        }
    }

    private func readBlocking<T>(_ body: (Database, Set<String>) throws -> T) throws -> T {
        let opened = try opened()
        do {
            return try opened.queue.read { db in try body(db, opened.inboxColumns) }
        } catch let error as GammuSMSDError {
            throw error
        } catch {
            throw GammuSMSDError(database: path, message: "the statement failed", cause: error)
        }
    }
}
