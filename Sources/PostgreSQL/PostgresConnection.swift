import CLibPQ
import Dispatch
import Foundation

/// One libpq connection, opened on first use and opened again after the server went away,
/// used by one caller at a time: every libpq call runs on the connection's own serial
/// `DispatchQueue`, never on Swift's cooperative pool (libpq blocks on its socket).
///
/// A statement that fails because the connection was lost closes it; the next
/// `withSession` connects afresh. When the very first statement of a `withSession` body finds
/// the connection dead (the server restarted while we were idle), the body runs once more on
/// a new connection: nothing of it had happened.
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
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.runBlocking(body) })
            }
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

    private func runBlocking<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let reused = connection != nil
        let session = PostgresSession(connection: try connected())
        let idle = !session.inTransaction
        do {
            return try body(session)
        } catch let error as PostgresError where error.isConnectionProblem {
            disconnect()
            guard reused, idle, session.statementsSucceeded == 0 else { throw error }
            return try body(PostgresSession(connection: try connected()))
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
