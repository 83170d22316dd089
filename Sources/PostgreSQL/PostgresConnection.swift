import CLibPQ
import Dispatch
import Foundation
import Synchronization

/// One libpq connection, opened on first use and opened again after the server went away,
/// used by one caller at a time: every libpq call runs on the connection's own serial
/// `DispatchQueue`, never on Swift's cooperative pool (libpq blocks on its socket).
///
/// A statement that fails because the connection was lost closes it; the next
/// `withSession` connects afresh. When the very first statement of a `withSession` body finds
/// the connection dead (the server restarted while we were idle), the body runs once more on
/// a new connection: nothing of it had happened.
///
/// Cancelling the calling task reaches the server: the statement running then is cancelled
/// with `PQcancel` (the server ends it with SQLSTATE 57014), and the body's next statement is
/// not sent; the call throws a `PostgresError` with code `.cancelled`.
public final class PostgresConnection: @unchecked Sendable {
    public let url: PostgresURL
    public let label: String
    private let password: String?
    private let queue: DispatchQueue
    // Touched only on `queue`.
    private var connection: OpaquePointer?

    /// `password` (from a secret file or variable) replaces the URL's own when given.
    public init(url: PostgresURL, password: String? = nil, label: String = "postgres") {
        self.url = url
        self.password = password
        self.label = label
        queue = DispatchQueue(label: "metergate.postgres.\(label)")
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    /// Runs `body` on the connection's queue with a live session.
    @discardableResult
    public func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        let cancellation = PostgresCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { try self.runBlocking(body, cancellation) })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Closes the connection (an open transaction is rolled back by the server).
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.disconnect()
                continuation.resume()
            }
        }
    }

    private func runBlocking<T>(_ body: (PostgresSession) throws -> T, _ cancellation: PostgresCancellation) throws -> T {
        if cancellation.isCancelled { throw PostgresError.cancelled }
        let reused = connection != nil
        let session = PostgresSession(connection: try connected(), cancellation: cancellation)
        cancellation.arm(session.connection)
        defer { cancellation.disarm() }
        let idle = !session.inTransaction
        do {
            return try body(session)
        } catch let error as PostgresError where error.isConnectionProblem {
            disconnect()
            guard reused, idle, session.statementsSucceeded == 0, !cancellation.isCancelled else { throw error }
            cancellation.disarm()
            let again = PostgresSession(connection: try connected(), cancellation: cancellation)
            cancellation.arm(again.connection)
            return try body(again)
        } catch {
            if PQstatus(session.connection) != CONNECTION_OK { disconnect() }
            throw error
        }
    }

    private func connected() throws(PostgresError) -> OpaquePointer {
        if let connection, PQstatus(connection) == CONNECTION_OK { return connection }
        disconnect()
        var keywords = url.keywords(password: password)
        if !keywords.contains(where: { $0.key == "connect_timeout" }) { keywords.append(("connect_timeout", "10")) }
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
            let message = Self.text(PQerrorMessage(opened))
            PQfinish(opened)
            throw PostgresError(code: .connectionFailed, message: "\(url): \(message)")
        }
        clibpq_silence_notices(opened)
        connection = opened
        return opened
    }

    private func disconnect() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The cancellation of one `withSession` call: the task's cancellation handler sends
/// `PQcancel` for the statement running on the connection's queue (from a thread of its own:
/// it opens a connection to the server), and marks the call so no further statement starts.
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

    /// On the connection's queue, before the body runs.
    func arm(_ connection: OpaquePointer) {
        let handle = PQgetCancel(connection).map(Handle.init)
        state.withLock { state in
            if let old = state.handle { PQfreeCancel(old.pointer) }
            state.handle = handle
        }
    }

    /// On the connection's queue, when the body ended.
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
