import Foundation
import GRDB
import GRDBSQLite
import Ledger

/// A prepared SQLite statement used directly on the hot path of message processing
/// (a few microseconds per call instead of GRDB's generic argument boxing). Used only on
/// the ledger's single connection, inside GRDB's serialized access.
final class RawStatement {
    let handle: OpaquePointer
    let connection: OpaquePointer
    let sql: String

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(connection: OpaquePointer, sql: String) throws {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw LedgerError(.write, "cannot prepare a statement: \(String(cString: sqlite3_errmsg(connection)))")
        }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard var text = value else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { pointer in
                    _ = sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), Self.transient)
                }
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ bytes: [UInt8]?) {
        guard let bytes else {
            sqlite3_bind_null(handle, index)
            return
        }
        bytes.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), Self.transient)
        }
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let message = String(cString: sqlite3_errmsg(connection))
            sqlite3_reset(handle)
            throw LedgerError(code == SQLITE_CONSTRAINT ? .conflict : .write, "SQLite error \(code): \(message)")
        }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func int(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// Rows changed by the last statement run on the connection.
    var changes: Int { Int(sqlite3_changes(connection)) }

    /// Runs the statement with `bind` and returns `read` of the first row, if any.
    func first<T>(_ bind: (RawStatement) -> Void, read: (RawStatement) -> T) throws -> T? {
        defer { reset() }
        bind(self)
        return try step() ? read(self) : nil
    }

    /// Runs a statement that returns no row.
    func run(_ bind: (RawStatement) -> Void) throws {
        defer { reset() }
        bind(self)
        _ = try step()
    }
}

/// The ledger's raw statements, prepared once for its connection.
final class RawStatements: @unchecked Sendable {
    /// By the address of the statement's literal text: the message path looks statements up
    /// several times per message, and hashing a few hundred bytes of SQL each time cost more
    /// than running some of them. A literal's text lives in the binary for the process's life.
    private var statements: [UInt: RawStatement] = [:]

    func statement(_ sql: StaticString, in db: Database) throws -> RawStatement {
        let key = UInt(bitPattern: sql.utf8Start)
        if let statement = statements[key] { return statement }
        guard let connection = db.sqliteConnection else { throw LedgerError(.write, "the store's connection is closed") }
        let statement = try RawStatement(connection: connection, sql: sql.description)
        statements[key] = statement
        return statement
    }

    /// Finalizes every statement (before their connection closes).
    func removeAll() {
        statements = [:]
    }
}
