import CLibPQ
import Dispatch
import Foundation
import Synchronization

/// A statement argument: text, bytes (sent in binary, for `bytea`), or NULL. Never spliced
/// into the SQL: every statement is parameterised.
public enum PostgresValue: Sendable {
    case null
    case text(String)
    case bytes([UInt8])

    public static func of(_ text: String?) -> PostgresValue { text.map { .text($0) } ?? .null }
    public static func of(_ number: Int64?) -> PostgresValue { number.map { .text(String($0)) } ?? .null }
    public static func of(_ number: Int?) -> PostgresValue { number.map { .text(String($0)) } ?? .null }
    public static func of(_ number: Double?) -> PostgresValue { number.map { .text(String($0)) } ?? .null }
    public static func of(_ date: Date) -> PostgresValue { .text(String(date.timeIntervalSince1970)) }
    public static func of(_ flag: Bool) -> PostgresValue { .text(flag ? "t" : "f") }
}

/// One result of a statement, read in place (libpq's `PGresult`, freed with this object);
/// values by row and column, each in PostgreSQL's text form unless the statement asked for
/// binary results. Valid only on the link's queue.
public final class PostgresResult {
    let result: OpaquePointer
    public let count: Int

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
    }

    deinit { PQclear(result) }

    public var affectedRows: Int { Int(cText(PQcmdTuples(result))) ?? 0 }

    public var columns: [String] { (0..<Int(PQnfields(result))).map { cText(PQfname(result, Int32($0))) } }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    public func text(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: length), as: UTF8.self)
    }

    public func string(_ row: Int, _ column: Int) -> String { text(row, column) ?? "" }

    public func int(_ row: Int, _ column: Int) -> Int64? { text(row, column).flatMap { Int64($0) } }

    public func double(_ row: Int, _ column: Int) -> Double? { text(row, column).flatMap { Double($0) } }

    public func bool(_ row: Int, _ column: Int) -> Bool? { text(row, column).map { $0 == "t" } }

    /// A column of a binary result, as bytes.
    public func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        if isNull(row, column) { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// Every value copied out, as text (`PostgresSession`'s result).
    var rows: PostgresRows {
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(count)
        for row in 0..<count { rows.append((0..<columnCount).map { text(row, $0) }) }
        return PostgresRows(columns: columns, rows: rows, affectedRows: affectedRows)
    }
}

/// metergate's one libpq connection layer: a connection used from its own serial queue (never
/// from Swift's cooperative pool: libpq blocks on its socket), opened on first use and opened
/// again after the server went away (with a multi-host URL and `target_session_attrs=read-write`,
/// on whichever server is the primary now). The ledger on PostgreSQL and the Gammu SMSD database
/// on PostgreSQL (through `PostgresConnection`) both use it.
///
/// Statements are parameterised; by default each is prepared once per connection and run with
/// `PQexecPrepared` (`prepared: false` sends it unnamed, with `PQexecParams`, for statements
/// built at run time). Cancelling the task that waits for a body reaches the server: the running
/// statement is cancelled with `PQcancel` (SQLSTATE 57014) and no further one is sent; the body
/// then fails with a `PostgresError` of code `.cancelled`.
public final class PostgresLink: @unchecked Sendable {
    /// What happens when a body fails.
    public enum Retry: Sendable {
        /// The error goes to the caller.
        case never
        /// The body runs once more on a new connection when the connection it was given had been
        /// idle and was found dead by the body's first statement (the server restarted meanwhile):
        /// nothing of it had happened.
        case staleConnection
        /// The body, one transaction that may run twice, runs again from its start while the
        /// server cannot be reached (for up to `reconnectFor`), and up to three times after a
        /// conflict with another session (a serialization failure, a deadlock, a unique key
        /// another session just committed). An open transaction is rolled back first.
        case reconnect
    }

    public let url: PostgresURL
    public let label: String
    let password: String?
    let applicationName: String?
    let connectTimeout: Int
    /// How long a body is tried again while the server cannot be reached (a fail-over, a restart).
    public let reconnectFor: TimeInterval
    let queue: DispatchQueue
    // Touched only on `queue`.
    private var connection: OpaquePointer?
    private var prepared: [String: String] = [:]
    private var closed = false
    private var cancellation: PostgresCancellation?
    /// Statements that succeeded in the running body.
    private var statementsSucceeded = 0
    /// Inside `runAtOpen`, whose caller may be a task (a store opened before work flows).
    private var opening = false

    public init(
        url: PostgresURL, password: String?, label: String, applicationName: String? = nil, connectTimeout: Int = 5,
        reconnectFor: TimeInterval = 30
    ) {
        self.url = url
        self.password = password
        self.label = label
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.reconnectFor = reconnectFor
        queue = DispatchQueue(label: "metergate.postgres.\(label)")
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    // MARK: running bodies

    /// Runs `body` on the link's queue, off the cooperative pool; see `Retry`.
    public func run<T: Sendable>(retry: Retry = .reconnect, _ body: @escaping @Sendable (PostgresLink) throws -> T) async throws -> T {
        let cancellation = PostgresCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { try self.runHere(retry: retry, cancellation: cancellation, body) })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// As `run`, blocking the calling thread (a thread of its own, never a task).
    public func runBlocking<T>(retry: Retry = .reconnect, _ body: (PostgresLink) throws -> T) throws -> T {
        #if DEBUG
        if withUnsafeCurrentTask(body: { $0 != nil }) {
            fatalError("PostgresLink.runBlocking: a blocking call made from a task, on the cooperative pool; run it on its own thread")
        }
        #endif
        return try queue.sync { try runHere(retry: retry, cancellation: nil, body) }
    }

    /// As `runBlocking`, from anywhere: only for opening a store, before any work flows.
    public func runAtOpen<T>(_ body: (PostgresLink) throws -> T) throws -> T {
        try queue.sync {
            opening = true
            defer { opening = false }
            return try runHere(retry: .never, cancellation: nil, body)
        }
    }

    private func runHere<T>(retry: Retry, cancellation: PostgresCancellation?, _ body: (PostgresLink) throws -> T) throws -> T {
        if let cancellation, cancellation.isCancelled { throw PostgresError.cancelled }
        self.cancellation = cancellation
        defer {
            cancellation?.disarm()
            self.cancellation = nil
        }
        let deadline = Date().addingTimeInterval(reconnectFor)
        var conflicts = 0
        var pause = 0.05
        var staleRetried = false
        while true {
            let reused = connection.map { PQstatus($0) == CONNECTION_OK } ?? false
            let idle = !inTransaction
            statementsSucceeded = 0
            do {
                return try body(self)
            } catch let error as PostgresError {
                switch retry {
                case .never:
                    throw error
                case .staleConnection:
                    guard error.isConnectionProblem, reused, idle, statementsSucceeded == 0, !staleRetried,
                          !(cancellation?.isCancelled ?? false) else { throw error }
                    staleRetried = true
                    disconnect()
                    continue
                case .reconnect:
                    if let connection, PQtransactionStatus(connection) != PQTRANS_IDLE, PQstatus(connection) == CONNECTION_OK {
                        _ = try? exec("ROLLBACK", evenIfCancelled: true)
                    }
                    guard !closed, !(cancellation?.isCancelled ?? false) else { throw error }
                    if error.isConnectionProblem {
                        disconnect()
                        guard Date() < deadline else { throw error }
                        Thread.sleep(forTimeInterval: pause)
                        pause = min(pause * 2, 1)
                        continue
                    }
                    // 23505: the same row committed by another session a moment ago (a body that
                    // asks first now finds it); 40001, 40P01: conflicts worth another try.
                    if let state = error.sqlState, ["23505", "40001", "40P01"].contains(state), conflicts < 3 {
                        conflicts += 1
                        continue
                    }
                    throw error
                }
            }
        }
    }

    // MARK: the connection (on `queue`)

    private func connected() throws(PostgresError) -> OpaquePointer {
        #if DEBUG
        // Every statement blocks on the socket: never on the cooperative pool (as the SQLite
        // store's `assertNotOnCooperativePool` and curl's transfers check).
        if !opening, withUnsafeCurrentTask(body: { $0 != nil }) {
            fatalError("PostgresLink \(label): a blocking libpq call made from a task, on the cooperative pool; run it on the link's queue")
        }
        #endif
        if closed { throw PostgresError(code: .connectionFailed, message: "the store is closed") }
        if let connection, PQstatus(connection) == CONNECTION_OK {
            arm(connection)
            return connection
        }
        disconnect()
        var keywords = url.keywords(password: password)
        if !keywords.contains(where: { $0.key == "connect_timeout" }) { keywords.append(("connect_timeout", String(connectTimeout))) }
        if let applicationName, !keywords.contains(where: { $0.key == "application_name" }) {
            keywords.append(("application_name", applicationName))
        }
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
        arm(opened)
        return opened
    }

    /// The running body's cancellation reaches this connection.
    private func arm(_ connection: OpaquePointer) {
        if let cancellation, !cancellation.isArmed { cancellation.arm(connection) }
    }

    private func disconnect() {
        cancellation?.disarm()
        if let connection { PQfinish(connection) }
        connection = nil
        prepared = [:]
    }

    /// Closes the connection (an open transaction is rolled back by the server). With
    /// `permanently`, later bodies fail; otherwise the next one connects again.
    public func close(permanently: Bool = true) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.disconnect()
                if permanently { self.closed = true }
                continuation.resume()
            }
        }
    }

    // MARK: statements (on `queue`, inside a body)

    /// True inside a transaction block (also one that failed and awaits ROLLBACK).
    public var inTransaction: Bool {
        guard let connection else { return false }
        let status = PQtransactionStatus(connection)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    private func checkCancelled() throws(PostgresError) {
        if let cancellation, cancellation.isCancelled { throw PostgresError.cancelled }
    }

    /// A statement without arguments, as text (`BEGIN`, `COMMIT`, DDL).
    @discardableResult
    public func exec(_ sql: String) throws(PostgresError) -> PostgresResult {
        try exec(sql, evenIfCancelled: false)
    }

    private func exec(_ sql: String, evenIfCancelled: Bool) throws(PostgresError) -> PostgresResult {
        if !evenIfCancelled { try checkCancelled() }
        let connection = try connected()
        return try check(PQexec(connection, sql), sql: sql, connection: connection)
    }

    /// A parameterised statement: prepared on first use on this connection, or (`prepared: false`)
    /// sent unnamed.
    @discardableResult
    public func query(
        _ sql: String, _ arguments: [PostgresValue] = [], binaryResult: Bool = false, prepared usePrepared: Bool = true
    ) throws(PostgresError) -> PostgresResult {
        try checkCancelled()
        let connection = try connected()
        var name: String?
        if usePrepared {
            if let known = prepared[sql] {
                name = known
            } else {
                let new = "s\(prepared.count + 1)"
                _ = try check(PQprepare(connection, new, sql, 0, nil), sql: sql, connection: connection)
                prepared[sql] = new
                name = new
            }
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
                buffers.append(strdup(text.utf8.contains(0) ? text.replacingOccurrences(of: "\0", with: "\u{FFFD}") : text))
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
                    if let name {
                        PQexecPrepared(connection, name, Int32(arguments.count), values.baseAddress, lengths.baseAddress,
                                       formats.baseAddress, binaryResult ? 1 : 0)
                    } else {
                        PQexecParams(connection, sql, Int32(arguments.count), nil, values.baseAddress, lengths.baseAddress,
                                     formats.baseAddress, binaryResult ? 1 : 0)
                    }
                }
            }
        }
        return try check(result, sql: sql, connection: connection)
    }

    /// `COPY … FROM STDIN`: `produce` hands the data, in COPY's text format, to the function it
    /// is given, a chunk at a time (false once the server refused: stop producing).
    @discardableResult
    public func copyIn(_ sql: String, produce: (_ send: ([UInt8]) -> Bool) throws -> Void) throws -> Int {
        try checkCancelled()
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
        statementsSucceeded += 1
        return rows
    }

    /// `BEGIN`, `body`, `COMMIT`; `ROLLBACK` when `body` throws (the error is rethrown).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN")
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            if let connection, PQstatus(connection) == CONNECTION_OK { _ = try? exec("ROLLBACK", evenIfCancelled: true) }
            throw error
        }
    }

    private func check(_ result: OpaquePointer?, sql: String, connection: OpaquePointer) throws(PostgresError) -> PostgresResult {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        if let result, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
            statementsSucceeded += 1
            return PostgresResult(result)
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
        // 57014: the statement was cancelled (by our `PQcancel` when the task was).
        if sqlState == "57014", let cancellation, cancellation.isCancelled { throw PostgresError.cancelled }
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

/// The cancellation of one body: the task's cancellation handler sends `PQcancel` for the
/// statement running on the link's queue (from a thread of its own: it opens a connection to the
/// server), and marks the body so no further statement starts.
final class PostgresCancellation: Sendable {
    private struct State {
        var cancelled = false
        /// `PQgetCancel` of the connection in use; freed when the body ends.
        var handle: Handle?
    }

    /// A `PGcancel`, used only under the mutex (`PQcancel` is safe from any thread).
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.cancelled } }
    var isArmed: Bool { state.withLock { $0.handle != nil } }

    /// On the link's queue, when the body gets a connection.
    func arm(_ connection: OpaquePointer) {
        let handle = PQgetCancel(connection).map(Handle.init)
        state.withLock { state in
            if let old = state.handle { PQfreeCancel(old.pointer) }
            state.handle = handle
        }
    }

    /// On the link's queue, when the body ended or its connection closed.
    func disarm() {
        state.withLock { state in
            if let handle = state.handle { PQfreeCancel(handle.pointer) }
            state.handle = nil
        }
    }

    func cancel() {
        let armed = state.withLock { state -> Bool in
            state.cancelled = true
            return state.handle != nil
        }
        guard armed else { return }
        DispatchQueue.global().async {
            self.state.withLock { state in
                guard let handle = state.handle else { return }
                var buffer = [CChar](repeating: 0, count: 256)
                _ = PQcancel(handle.pointer, &buffer, Int32(buffer.count))
            }
        }
    }
}
