/// The live connection inside `PostgresConnection.withSession`: parameterised statements only
/// (arguments as text, `nil` as NULL — never spliced into the SQL, sent unnamed: the statements
/// may be built at run time), and transactions. Valid only inside the body it was given to.
public final class PostgresSession {
    let link: PostgresLink

    init(link: PostgresLink) {
        self.link = link
    }

    /// True inside a transaction block (also one that failed and awaits ROLLBACK).
    public var inTransaction: Bool { link.inTransaction }

    /// Runs a statement that returns rows.
    public func query(_ sql: String, _ arguments: [String?] = []) throws(PostgresError) -> PostgresRows {
        try link.query(sql, arguments.map { PostgresValue.of($0) }, prepared: false).rows
    }

    /// Runs a statement; returns the number of rows it touched (`PQcmdTuples`, 0 when none applies).
    @discardableResult
    public func execute(_ sql: String, _ arguments: [String?] = []) throws(PostgresError) -> Int {
        try link.query(sql, arguments.map { PostgresValue.of($0) }, prepared: false).affectedRows
    }

    /// `BEGIN`, `body`, `COMMIT` — or `ROLLBACK` when `body` throws (the error is rethrown).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try link.transaction(body)
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
