/// A PostgreSQL failure as a value: what kind (`code`), the server's or libpq's own words,
/// the SQLSTATE when the server gave one, and the statement's first words (never its
/// arguments: they may hold phone numbers).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case invalidURL = "invalid URL"
            case connectionFailed = "connection failed"
            case connectionLost = "connection lost"
            case serverError = "server error"
            case unexpectedResult = "unexpected result"
            case cancelled = "cancelled"
        }

        private let kind: Kind

        /// The URL could not be read.
        public static let invalidURL = Code(kind: .invalidURL)
        /// Could not connect or log in (`PQconnectdbParams` gave `CONNECTION_BAD`).
        public static let connectionFailed = Code(kind: .connectionFailed)
        /// The server went away during a statement (closed socket, shutdown: SQLSTATE class 08, 57P0x).
        public static let connectionLost = Code(kind: .connectionLost)
        /// The server refused the statement (its SQLSTATE says why).
        public static let serverError = Code(kind: .serverError)
        /// A result of a shape we did not expect (wrong column count, not a number, …).
        public static let unexpectedResult = Code(kind: .unexpectedResult)
        /// The calling task was cancelled: the running statement was cancelled at the server
        /// (`PQcancel`) and no further one was sent.
        public static let cancelled = Code(kind: .cancelled)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    /// The server's primary message, or libpq's error text.
    public var message: String
    /// Five characters (`23505` unique violation, `40001` serialization failure, `08006`
    /// connection failure, `57P01` admin shutdown, …), when the server sent one.
    public var sqlState: String?
    /// The server's DETAIL, when given.
    public var detail: String?
    /// The first words of the statement that failed.
    public var statement: String?

    public init(code: Code, message: String, sqlState: String? = nil, detail: String? = nil, statement: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.statement = statement
    }

    /// `server error 23505: duplicate key value violates unique constraint "…" (in INSERT INTO …)`.
    public var description: String {
        var text = "\(code)"
        if let sqlState { text += " \(sqlState)" }
        text += ": " + message
        if let detail, !detail.isEmpty { text += " — " + detail }
        if let statement { text += " (in \(statement))" }
        return text
    }

    static let cancelled = PostgresError(code: .cancelled, message: "the task was cancelled; the statement was cancelled at the server")

    /// The connection is no longer usable: reconnect before the next statement.
    public var isConnectionProblem: Bool {
        code == .connectionFailed || code == .connectionLost
    }

    /// Worth trying again later as it is: the connection, a conflict with another session
    /// (serialization failure, deadlock, lock not available), the server shutting down or short of resources.
    public var isTransient: Bool {
        if isConnectionProblem { return true }
        guard let sqlState else { return false }
        return Self.transientStates.contains(sqlState) || sqlState.hasPrefix("08") || sqlState.hasPrefix("53")
            || sqlState.hasPrefix("57P")
    }

    static let transientStates: Set<String> = ["40001", "40P01", "55P03", "57014"]

    /// The code for a failed statement: a lost connection when libpq says the connection is
    /// bad or the SQLSTATE is of class 08 (connection exception) or 57P01–57P03 (shutdown);
    /// a server error otherwise.
    public static func statementCode(sqlState: String?, connectionBad: Bool) -> Code {
        if connectionBad { return .connectionLost }
        guard let sqlState else { return .connectionLost }  // no SQLSTATE: libpq's own failure (socket, protocol)
        if sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState) { return .connectionLost }
        return .serverError
    }
}
