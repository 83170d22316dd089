import Curl
import Foundation
import Logging
import MailMessage
import MeterCore

/// Sends e-mail replies through an SMTP server with libcurl (`smtp://`, `smtps://`, STARTTLS).
///
/// Each reply is composed by `ReplyComposer` (From, To, Date, Message-ID, `Subject: Re: …`
/// RFC 2047-encoded, In-Reply-To, References, `Auto-Submitted: auto-replied`, UTF-8 body, CRLF)
/// and sent to its one recipient. A 4xx answer, a refused or dropped connection, or a timeout is
/// `.retry` (the outbox dispatcher backs off); a 5xx answer is `.failed`.
///
/// `connections` replies go out at once (`smtp.connections`), each over its own reused
/// connection (`SMTPPipe`: opened and logged in by libcurl, then RFC 2920 PIPELINING where the
/// server offers it, several replies per connection, each connection on its own thread). The end
/// of the DATA is the point of no return: `beforeCommit` runs just before the final `.` is sent,
/// and a transfer that fails after it without an answer from the server is `.inDoubt`, not `.retry`.
public struct SMTPTransport: NextReplyTransport {
    public struct Configuration: Sendable {
        /// `smtp://host:port` or `smtps://host:port` (a path becomes the EHLO name).
        public var url: String
        /// `From:` header, e.g. `Показания <readings@example.test>`.
        public var from: String
        /// Envelope sender; by default the address of `from`.
        public var envelopeFrom: String?
        public var username: String?
        /// Read on each send (a rotated password file is picked up).
        public var password: (@Sendable () throws -> String?)?
        /// STARTTLS required on `smtp://`.
        public var startTLS: Bool
        public var tls: CurlTLS
        public var timeout: Duration
        /// SMTP connections used at once (each a reused session).
        public var connections: Int

        public init(
            url: String, from: String, envelopeFrom: String? = nil, username: String? = nil,
            password: (@Sendable () throws -> String?)? = nil, startTLS: Bool = false, tls: CurlTLS = .init(),
            timeout: Duration = .seconds(60), connections: Int = 4
        ) {
            self.connections = max(1, connections)
            self.url = url
            self.from = from
            self.envelopeFrom = envelopeFrom
            self.username = username
            self.password = password
            self.startTLS = startTLS
            self.tls = tls
            self.timeout = timeout
        }
    }

    public let name: String
    public let configuration: Configuration
    private let composer: ReplyComposer
    private let pipes: [SMTPPipe]
    private let ehloName: String
    private let envelopeFrom: String
    private let logger: Logger

    public init(name: String = "smtp", configuration: Configuration, logger: Logger = Logger(label: "metergate.smtp")) {
        self.name = name
        self.configuration = configuration
        composer = ReplyComposer(from: configuration.from)
        ehloName = Self.ehloName(configuration.url)
        pipes = (0..<configuration.connections).map { SMTPPipe(label: "\(name)-\($0)") }
        let address = MailAddress.parse(configuration.from)?.address ?? configuration.from
        envelopeFrom = configuration.envelopeFrom ?? address
        self.logger = logger
    }

    /// The message exactly as it is sent.
    public func compose(_ reply: OutgoingReply, date: Date = Date()) -> [UInt8] {
        composer.compose(reply, date: date)
    }

    public var connections: Int { pipes.count }

    /// One reply over the first connection; a reply in doubt (no answer after the end of data) is
    /// reported as `.retry`.
    public func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        switch await deliver(reply, connection: 0, beforeCommit: {}) {
        case .settled(let result): result
        case .inDoubt(let failure): .retry(failure)
        }
    }

    public func deliver(
        _ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt {
        await deliver(reply, connection: connection, next: nil, beforeCommit: beforeCommit)
    }

    /// The next reply's envelope goes out right after this one's end of data (PIPELINING).
    public func deliver(
        _ reply: OutgoingReply, connection: Int, next: OutgoingReply?, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt {
        guard let recipient = Self.recipient(reply) else {
            return .settled(.failed(DeliveryFailure(.invalidRecipient, "no usable recipient address")))
        }
        let password: String?
        do {
            password = try configuration.password?()
        } catch {
            return .settled(.retry(DeliveryFailure(.authentication, "cannot read the SMTP password", cause: error)))
        }
        let connect = CurlMailRequest(
            url: configuration.url, login: CurlLogin(username: configuration.username, password: password),
            requireTLS: configuration.startTLS, tls: configuration.tls, timeout: configuration.timeout)
        let envelope = SMTPPipe.Envelope(id: reply.id, from: "<\(envelopeFrom)>", recipient: "<\(recipient)>", message: compose(reply))
        let following = next.flatMap { next in
            Self.recipient(next).map { SMTPPipe.Envelope(id: next.id, from: "<\(envelopeFrom)>", recipient: "<\($0)>", message: []) }
        }
        return await pipes[connection % pipes.count].send(
            envelope, next: following, connect: connect, ehloName: ehloName, beforeCommit: beforeCommit)
    }

    /// The recipient's bare address, when it is one.
    static func recipient(_ reply: OutgoingReply) -> String? {
        guard let address = MailAddress.parse(reply.recipient)?.address, address.contains("@") else { return nil }
        return address
    }

    /// The EHLO name: the URL's path, as libcurl takes it, or this host's name.
    static func ehloName(_ url: String) -> String {
        let path = MailboxSettings(url: url).parts.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty { return path }
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count) == 0, name[0] != 0 else { return "localhost" }
        return String(cString: name)
    }

    /// 5xx from the server: give up on this reply; anything else (4xx, down, timeout, TLS): retry.
    /// Authentication refused (535, 534, 530, or curl's login denied) is ours to fix, not the
    /// recipient's: retried with backoff until `outbox.max_age` (a password rotation must not
    /// lose the replies of its window).
    static func result(of error: CurlError) -> DeliveryResult {
        let reply = error.serverResponse ?? ""
        if error.isLoginDenied || ["535", "534", "530"].contains(String(reply.prefix(3))) {
            return .retry(DeliveryFailure(.authentication, "authentication refused (retried until outbox.max_age)", cause: error))
        }
        if let first = reply.first, first == "5", reply.count >= 3,
           reply.prefix(3).allSatisfy(\.isNumber) {
            return .failed(DeliveryFailure(.rejected, "the server refused the reply", cause: error))
        }
        let reachable = error.serverResponse.map { !$0.isEmpty } ?? false
        return .retry(DeliveryFailure(reachable ? .refused : .unreachable, reachable ? "the server refused the reply for now" : "the server did not answer", cause: error))
    }
}

/// A `ConcurrentReplyTransport` that starts on a connection's next reply within the same round
/// trip as the end of the one before (SMTP PIPELINING: the next envelope right after the end of
/// data). The dispatcher hands each call the reply that connection sends next, when it has one
/// at once.
public protocol NextReplyTransport: ConcurrentReplyTransport {
    /// As `deliver(_:connection:beforeCommit:)`, told `next`: the reply this connection's next
    /// call sends. The transport may begin on it (nothing of it passes its point of no return);
    /// when the next call brings another reply, the transport starts that connection afresh.
    func deliver(
        _ reply: OutgoingReply, connection: Int, next: OutgoingReply?, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt
}
