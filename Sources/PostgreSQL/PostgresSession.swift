import CLibPQ
import Foundation

/// The live connection inside `PostgresConnection.withSession`: parameterised statements only
/// (`PQexecParams`, arguments as text, `nil` as NULL — never spliced into the SQL), and
/// transactions. Valid only inside the body it was given to.
public final class PostgresSession {
    let connection: OpaquePointer
    /// Statements that succeeded in this session (a lost connection before the first one
    /// lets the connection retry the body).
    private(set) var statementsSucceeded = 0

    private let cancellation: PostgresCancellation

    init(connection: OpaquePointer, cancellation: PostgresCancellation) {
        self.connection = connection
        self.cancellation = cancellation
    }

    /// True inside a transaction block (also one that failed and awaits ROLLBACK).
    public var inTransaction: Bool {
        let status = PQtransactionStatus(connection)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Runs a statement that returns rows.
    public func query(_ sql: String, _ arguments: [String?] = []) throws(PostgresError) -> PostgresRows {
        try run(sql, arguments)
    }

    /// Runs a statement; returns the number of rows it touched (`PQcmdTuples`, 0 when none applies).
    @discardableResult
    public func execute(_ sql: String, _ arguments: [String?] = []) throws(PostgresError) -> Int {
        try run(sql, arguments).affectedRows
    }

    /// `BEGIN`, `body`, `COMMIT` — or `ROLLBACK` when `body` throws (the error is rethrown).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if PQstatus(connection) == CONNECTION_OK { _ = try? run("ROLLBACK", [], evenIfCancelled: true) }
            throw error
        }
    }

    private func run(_ sql: String, _ arguments: [String?], evenIfCancelled: Bool = false) throws(PostgresError) -> PostgresRows {
        if !evenIfCancelled, cancellation.isCancelled { throw PostgresError.cancelled }
        let values = arguments.map { $0.map { strdup($0) } ?? nil }
        defer { for value in values { free(value) } }
        let result: OpaquePointer? = values.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { buffer in
            PQexecParams(connection, sql, Int32(arguments.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let failure = error(result, sql: sql)
            // 57014: the statement was cancelled (by our `PQcancel` when the task was).
            if failure.sqlState == "57014", cancellation.isCancelled { throw PostgresError.cancelled }
            throw failure
        }
        statementsSucceeded += 1
        guard let result else { return PostgresRows(columns: [], rows: [], affectedRows: 0) }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { PostgresConnection.text(PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            rows.append((0..<Int32(columnCount)).map { column in
                if PQgetisnull(result, row, column) == 1 { return nil }
                let length = Int(PQgetlength(result, row, column))
                return PQgetvalue(result, row, column).map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                }
            })
        }
        return PostgresRows(columns: columns, rows: rows, affectedRows: Int(PostgresConnection.text(PQcmdTuples(result))) ?? 0)
    }

    private func error(_ result: OpaquePointer?, sql: String) -> PostgresError {
        let statement = String(sql.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(4).joined(separator: " "))
        let bad = PQstatus(connection) != CONNECTION_OK
        guard let result else {
            return PostgresError(code: .connectionLost, message: PostgresConnection.text(PQerrorMessage(connection)), statement: statement)
        }
        let sqlState = clibpq_result_sqlstate(result).map { PostgresConnection.text($0) }
        var message = clibpq_result_primary(result).map { PostgresConnection.text($0) } ?? ""
        if message.isEmpty { message = PostgresConnection.text(PQresultErrorMessage(result)) }
        if message.isEmpty { message = PostgresConnection.text(PQerrorMessage(connection)) }
        return PostgresError(
            code: PostgresError.statementCode(sqlState: sqlState, connectionBad: bad), message: message, sqlState: sqlState,
            detail: clibpq_result_detail(result).map { PostgresConnection.text($0) }, statement: statement)
    }
}

/// The rows of a result, every value as PostgreSQL's text form (`nil` for NULL).
public struct PostgresRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    public var affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    public subscript(row: Int, column: Int) -> String? { rows[row][column] }

    /// A column as a number; `nil` for NULL; an error for text that is not one.
    public func int64(_ row: Int, _ column: Int) throws(PostgresError) -> Int64? {
        guard let text = rows[row][column] else { return nil }
        guard let value = Int64(text) else {
            throw PostgresError(code: .unexpectedResult, message: "column \(columns[column]) holds '\(text.prefix(20))', not an integer")
        }
        return value
    }

    public func double(_ row: Int, _ column: Int) throws(PostgresError) -> Double? {
        guard let text = rows[row][column] else { return nil }
        guard let value = Double(text) else {
            throw PostgresError(code: .unexpectedResult, message: "column \(columns[column]) holds '\(text.prefix(20))', not a number")
        }
        return value
    }

    /// PostgreSQL's `t`/`f`.
    public func bool(_ row: Int, _ column: Int) -> Bool? {
        rows[row][column].map { $0 == "t" || $0 == "true" }
    }
}
