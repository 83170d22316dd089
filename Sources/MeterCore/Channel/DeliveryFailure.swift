import Failures

/// Why one delivery attempt did not deliver: a code to act on, the operator's words, the error
/// underneath (kept as an error, not as text), and where it was raised — the shape of
/// `PostgresError` and swift-service-lifecycle's `ServiceGroupError` (`CodedError`).
///
/// The message is for the operator's log and the outbox's `last_error`; it never holds a
/// password, and a recipient only masked. What the abonent reads comes from templates, never
/// from here.
public struct DeliveryFailure: CodedError, Sendable, Hashable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unreachable = "unreachable"
            case refused = "refused"
            case rejected = "rejected"
            case authentication = "authentication"
            case invalidRecipient = "invalid recipient"
            case localFailure = "local failure"
            case noAnswer = "no answer"
            case notConfigured = "not configured"
        }

        private let kind: Kind

        /// No answer from the peer: connection refused or reset, timeout, TLS, DNS.
        public static let unreachable = Code(kind: .unreachable)
        /// The peer refused for now (SMTP 4xx, HTTP 429/5xx, a provider's temporary error).
        public static let refused = Code(kind: .refused)
        /// The peer refused this reply for good (SMTP 5xx, HTTP 4xx, a provider's final error).
        public static let rejected = Code(kind: .rejected)
        /// Our credentials were refused or could not be read: ours to fix, retried meanwhile.
        public static let authentication = Code(kind: .authentication)
        /// The recipient is not an address or number this transport can send to.
        public static let invalidRecipient = Code(kind: .invalidRecipient)
        /// Something on this machine failed (a file, the SMSD database).
        public static let localFailure = Code(kind: .localFailure)
        /// The point of no return passed and no answer came: the peer may have the reply.
        public static let noAnswer = Code(kind: .noAnswer)
        /// No transport for the reply's feed.
        public static let notConfigured = Code(kind: .notConfigured)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    /// The error that caused this failure (`CurlError`, `PostgresError`, `ChannelFileError`, …).
    public var cause: (any Error)?
    /// Where the failure was raised (`#fileID`, `#line`).
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var location: SourceLocation? { SourceLocation(file: file, line: line) }

    public static func == (left: DeliveryFailure, right: DeliveryFailure) -> Bool {
        left.code == right.code && left.message == right.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
