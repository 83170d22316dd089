import Foundation

/// One libpq connection (a `PostgresLink`), opened on first use and opened again after the
/// server went away, used by one caller at a time through `withSession`: every libpq call runs
/// on the link's own serial queue, never on Swift's cooperative pool.
///
/// A statement that fails because the connection was lost closes it; the next `withSession`
/// connects afresh. When the very first statement of a `withSession` body finds the connection
/// dead (the server restarted while we were idle), the body runs once more on a new connection:
/// nothing of it had happened.
///
/// Cancelling the calling task reaches the server: the statement running then is cancelled
/// with `PQcancel` (the server ends it with SQLSTATE 57014), and the body's next statement is
/// not sent; the call throws a `PostgresError` with code `.cancelled`.
public final class PostgresConnection: Sendable {
    public let url: PostgresURL
    public let label: String
    let link: PostgresLink

    /// `password` (from a secret file or variable) replaces the URL's own when given.
    public init(url: PostgresURL, password: String? = nil, label: String = "postgres") {
        self.url = url
        self.label = label
        link = PostgresLink(url: url, password: password, label: label, connectTimeout: 10, reconnectFor: 0)
    }

    /// Runs `body` on the connection's queue with a live session.
    @discardableResult
    public func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await link.run(retry: .staleConnection) { link in try body(PostgresSession(link: link)) }
    }

    /// Closes the connection (an open transaction is rolled back by the server); the next
    /// `withSession` connects again.
    public func close() async {
        await link.close(permanently: false)
    }
}
