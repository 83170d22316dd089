import CLibPQ
import Dispatch
import Foundation
import Ledger
import PostgreSQL

/// A statement argument: text, bytes (sent in binary, for `bytea`), or NULL. Never spliced
/// into the SQL: every statement is parameterised.
enum PGValue: Sendable {
    case null
    case text(String)
    case bytes([UInt8])

    static func of(_ text: String?) -> PGValue { text.map { .text($0) } ?? .null }
    static func of(_ number: Int64?) -> PGValue { number.map { .text(String($0)) } ?? .null }
    static func of(_ number: Int?) -> PGValue { number.map { .text(String($0)) } ?? .null }
    static func of(_ number: Double?) -> PGValue { number.map { .text(String($0)) } ?? .null }
    static func of(_ date: Date) -> PGValue { .text(String(date.timeIntervalSince1970)) }
    static func of(_ flag: Bool) -> PGValue { .text(flag ? "t" : "f") }
}

/// One result of a statement; values read by row and column, every one in PostgreSQL's text
/// form unless the statement asked for binary results.
final class PGResult {
    let result: OpaquePointer
    let count: Int

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
    }

    deinit { PQclear(result) }

    var affectedRows: Int { Int(cText(PQcmdTuples(result))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    func text(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: length), as: UTF8.self)
    }

    func string(_ row: Int, _ column: Int) -> String { text(row, column) ?? "" }

    func int(_ row: Int, _ column: Int) -> Int64? { text(row, column).flatMap { Int64($0) } }

    func double(_ row: Int, _ column: Int) -> Double? { text(row, column).flatMap { Double($0) } }

    func bool(_ row: Int, _ column: Int) -> Bool? { text(row, column).map { $0 == "t" } }

    /// A column of a binary result, as bytes.
    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        if isNull(row, column) { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}

/// One libpq connection of the ledger, used from its own serial queue (never from Swift's
/// cooperative pool: libpq blocks on its socket). Statements are prepared once per connection
/// and run with `PQexecPrepared`; a lost connection is opened again (with a multi-host URL and
/// `target_session_attrs=read-write`, on whichever server is the primary now).
final class PGLink: @unchecked Sendable {
    let url: PostgresURL
    let password: String?
    let label: String
    let applicationName: String
    let queue: DispatchQueue
    /// How long a body is tried again while the server cannot be reached (a fail-over, a restart).
    let reconnectFor: TimeInterval
    // Touched only on `queue`.
    private var connection: OpaquePointer?
    private var prepared: [String: String] = [:]
    private var closed = false

    init(url: PostgresURL, password: String?, label: String, applicationName: String, reconnectFor: TimeInterval) {
        self.url = url
        self.password = password
        self.label = label
        self.applicationName = applicationName
        self.reconnectFor = reconnectFor
        queue = DispatchQueue(label: "metergate.ledger.postgres.\(label)")
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    // MARK: running bodies

    /// Runs `body` on the link's queue, off the cooperative pool. With `retry`, a body that
    /// failed because the connection was lost, or on a conflict with another session (a
    /// serialization failure, a deadlock, a unique key another instance just committed), runs
    /// again from its start: every body given with `retry` is one transaction that may run twice.
    func run<T: Sendable>(retry: Bool = true, _ body: @escaping @Sendable (PGLink) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.runHere(retry: retry, body) })
            }
        }
    }

    /// As `run`, blocking the calling thread (a thread of its own, never a task).
    func runBlocking<T>(retry: Bool = true, _ body: (PGLink) throws -> T) throws -> T {
        assertNotOnCooperativePool()
        return try queue.sync { try runHere(retry: retry, body) }
    }

    /// As `runBlocking`, from anywhere: only for opening the store (as the SQLite ledger opens
    /// its file), before any message flows.
    func runAtOpen<T>(_ body: (PGLink) throws -> T) throws -> T {
        try queue.sync { try runHere(retry: false, body) }
    }

    private func runHere<T>(retry: Bool, _ body: (PGLink) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(reconnectFor)
        var conflicts = 0
        var pause = 0.05
        while true {
            do {
                return try body(self)
            } catch let error as PostgresError {
                if connection != nil, PQtransactionStatus(connection) != PQTRANS_IDLE, PQstatus(connection) == CONNECTION_OK {
                    _ = try? exec("ROLLBACK")
                }
                guard retry, !closed else { throw error }
                if error.isConnectionProblem {
                    disconnect()
                    guard Date() < deadline else { throw error }
                    Thread.sleep(forTimeInterval: pause)
                    pause = min(pause * 2, 1)
                    continue
                }
                // 23505: the same message committed by another instance a moment ago (this body
                // asks first, so it now finds it); 40001, 40P01: conflicts worth another try.
                if let state = error.sqlState, ["23505", "40001", "40P01"].contains(state), conflicts < 3 {
                    conflicts += 1
                    continue
                }
                throw error
            }
        }
    }

    // MARK: the connection (on `queue`)

    private func connected() throws(PostgresError) -> OpaquePointer {
        if closed { throw PostgresError(code: .connectionFailed, message: "the store is closed") }
        if let connection, PQstatus(connection) == CONNECTION_OK { return connection }
        disconnect()
        var keywords = url.keywords(password: password)
        if !keywords.contains(where: { $0.key == "connect_timeout" }) { keywords.append(("connect_timeout", "5")) }
        if !keywords.contains(where: { $0.key == "application_name" }) { keywords.append(("application_name", applicationName)) }
        // A server that vanished (a machine gone, a cable cut) is noticed within a minute.
        for (key, value) in [("keepalives_idle", "10"), ("keepalives_interval", "5"), ("keepalives_count", "3")]
        where !keywords.contains(where: { $0.key == key }) {
            keywords.append((key, value))
        }
        let keys = keywords.map { strdup($0.key) } + [nil]
        let values = keywords.map { strdup($0.value) } + [nil]
        defer { for pointer in keys + values { free(pointer) } }
        let opened: OpaquePointer? = keys.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { keyBuffer in
            values.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { valueBuffer in
                PQconnectdbParams(keyBuffer.baseAddress, valueBuffer.baseAddress, 0)
            }
        }
        guard let opened else {
            throw PostgresError(code: .connectionFailed, message: "out of memory opening a connection to \(url)")
        }
        guard PQstatus(opened) == CONNECTION_OK else {
            let message = cText(PQerrorMessage(opened))
            PQfinish(opened)
            throw PostgresError(code: .connectionFailed, message: "\(url): \(message)")
        }
        clibpq_silence_notices(opened)
        connection = opened
        prepared = [:]
        return opened
    }

    func disconnect() {
        if let connection { PQfinish(connection) }
        connection = nil
        prepared = [:]
    }

    /// Closes the connection; later bodies fail.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.disconnect()
                self.closed = true
                continuation.resume()
            }
        }
    }

    // MARK: statements (on `queue`, inside a body)

    /// A statement without arguments, as text (`BEGIN`, `COMMIT`, DDL).
    @discardableResult
    func exec(_ sql: String) throws(PostgresError) -> PGResult {
        let connection = try connected()
        return try check(PQexec(connection, sql), sql: sql, connection: connection)
    }

    /// A parameterised statement, prepared on first use on this connection.
    @discardableResult
    func query(_ sql: String, _ arguments: [PGValue] = [], binaryResult: Bool = false) throws(PostgresError) -> PGResult {
        let connection = try connected()
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "s\(prepared.count + 1)"
            _ = try check(PQprepare(connection, name, sql, 0, nil), sql: sql, connection: connection)
            prepared[sql] = name
        }
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        buffers.reserveCapacity(arguments.count)
        for argument in arguments {
            switch argument {
            case .null:
                buffers.append(nil)
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                // PostgreSQL's text holds no NUL (a hostile message may): U+FFFD stands in for it.
                buffers.append(strdup(text.contains("\0") ? text.replacingOccurrences(of: "\0", with: "\u{FFFD}") : text))
                lengths.append(0)
                formats.append(0)
            case .bytes(let bytes):
                let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
                bytes.withUnsafeBufferPointer { source in
                    if let base = source.baseAddress {
                        UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count)
                    }
                }
                buffers.append(buffer)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        defer { for buffer in buffers { free(buffer) } }
        let result = buffers.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { values in
            lengths.withUnsafeBufferPointer { lengths in
                formats.withUnsafeBufferPointer { formats in
                    PQexecPrepared(connection, name, Int32(arguments.count), values.baseAddress, lengths.baseAddress,
                                   formats.baseAddress, binaryResult ? 1 : 0)
                }
            }
        }
        return try check(result, sql: sql, connection: connection)
    }

    /// `COPY … FROM STDIN`: `produce` hands the data, in COPY's text format, to the function it
    /// is given, a chunk at a time (false once the server refused: stop producing).
    @discardableResult
    func copyIn(_ sql: String, produce: (_ send: ([UInt8]) -> Bool) throws -> Void) throws -> Int {
        let connection = try connected()
        guard let started = PQexec(connection, sql) else {
            throw PostgresError(code: .connectionLost, message: cText(PQerrorMessage(connection)), statement: sql)
        }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            _ = try check(started, sql: sql, connection: connection)
            throw PostgresError(code: .unexpectedResult, message: "the server did not start COPY", statement: sql)
        }
        PQclear(started)
        var produced: (any Error)?
        do {
            try produce { chunk in
                guard !chunk.isEmpty else { return true }
                return chunk.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: chunk.count) {
                        PQputCopyData(connection, $0, Int32(chunk.count)) == 1
                    }
                }
            }
        } catch {
            produced = error
        }
        PQputCopyEnd(connection, produced == nil ? nil : "metergate stopped the copy")
        var rows = 0
        var failure: PostgresError?
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(cText(PQcmdTuples(result))) ?? 0
                PQclear(result)
            } else {
                do { _ = try check(result, sql: sql, connection: connection) } catch { failure = failure ?? error }
            }
        }
        if let produced { throw produced }
        if let failure { throw failure }
        return rows
    }

    /// `BEGIN`, `body`, `COMMIT`; `ROLLBACK` when `body` throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN")
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            if let connection, PQstatus(connection) == CONNECTION_OK { _ = try? exec("ROLLBACK") }
            throw error
        }
    }

    private func check(_ result: OpaquePointer?, sql: String, connection: OpaquePointer) throws(PostgresError) -> PGResult {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        if let result, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
            return PGResult(result)
        }
        defer { if let result { PQclear(result) } }
        let statement = String(sql.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(4).joined(separator: " "))
        guard let result else {
            let message = cText(PQerrorMessage(connection))
            disconnect()
            throw PostgresError(code: .connectionLost, message: message, statement: statement)
        }
        let bad = PQstatus(connection) != CONNECTION_OK
        let sqlState = clibpq_result_sqlstate(result).map { cText($0) }
        var message = clibpq_result_primary(result).map { cText($0) } ?? ""
        if message.isEmpty { message = cText(PQresultErrorMessage(result)) }
        if message.isEmpty { message = cText(PQerrorMessage(connection)) }
        let error = PostgresError(
            code: PostgresError.statementCode(sqlState: sqlState, connectionBad: bad), message: message, sqlState: sqlState,
            detail: clibpq_result_detail(result).map { cText($0) }, statement: statement)
        if error.isConnectionProblem { disconnect() }
        throw error
    }
}

/// A C string from libpq as Swift text, trimmed.
func cText(_ pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}
