import Foundation
import Ledger
import Logging
import MeterCore

/// Received SMS of an SMSC.ru-style provider, polled with get_answers after the last id we
/// acknowledged (see `SMSCAPI` for the documented calls).
///
/// - `externalID`: `smsc:<feed>:<provider id>`; `receivedAt`: the provider's `sent` time.
/// - The cursor (the highest acknowledged id) is read from the ledger at every poll and
///   advanced only in `acknowledge`, i.e. after the messages are committed: after a crash the
///   same answers come again and the ledger's `UNIQUE(channel, external_id)` ignores them.
public final class SMSCSource: MessageSource {
    public let name: String
    public var channel: ChannelKind { .sms }
    let baseURL: String
    let login: String
    let password: String
    /// Where the cursor is kept: the ledger (`feed.cursor`), so the cursor and the messages live and die together.
    let cursor: any FeedStateStore
    let client: any SMSHTTPClient
    private let logger: Logger

    package init(
        name: String, baseURL: String, login: String, password: String, cursor: any FeedStateStore,
        client: any SMSHTTPClient, logger: Logger
    ) {
        self.name = name
        self.baseURL = baseURL
        self.login = login
        self.password = password
        self.cursor = cursor
        self.client = client
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
    }

    var idPrefix: String { "smsc:\(name):" }

    /// Pages through get_answers from the acknowledged cursor until `limit` answers or an
    /// empty page (the provider decides its page size).
    public func poll(limit: Int) async throws -> [IncomingMessage] {
        var after = try await cursor.cursor(feed: name).flatMap { Int64($0) } ?? 0
        var answers: [SMSCAPI.Answer] = []
        while answers.count < limit {
            let page = try await fetch(after: after).filter { $0.id > after }
            guard let last = page.last else { break }
            answers += page
            after = last.id
        }
        let now = Date()
        return answers.prefix(limit).map { answer in
            IncomingMessage(
                channel: .sms, feed: name, externalID: idPrefix + String(answer.id), sender: answer.phone,
                text: answer.message, receivedAt: answer.time ?? now, utcOffset: answer.utcOffset)
        }
    }

    private func fetch(after: Int64) async throws -> [SMSCAPI.Answer] {
        let request = SMSCAPI.answersRequest(base: baseURL, login: login, password: password, afterID: after)
        let response: SMSHTTPResponse
        do {
            response = try await client.send(request)
        } catch {
            throw SMSCError("get_answers", cause: error)
        }
        guard response.status == 200 else {
            throw SMSCError("get_answers: HTTP \(response.status): \(response.text.prefix(200))")
        }
        return try SMSCAPI.answers(from: response.body)
    }

    public func acknowledge(_ externalIDs: [String]) async throws {
        let ids = externalIDs.compactMap { $0.hasPrefix(idPrefix) ? Int64($0.dropFirst(idPrefix.count)) : nil }
        guard let highest = ids.max() else { return }
        let current = try await cursor.cursor(feed: name).flatMap { Int64($0) } ?? 0
        if highest > current { try await cursor.saveCursor(String(highest), feed: name) }
    }
}

/// A failure of SMSC's `get_answers`: the operator's words, the error underneath (the HTTP
/// client's, already free of the password), and where it was raised.
public struct SMSCError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var cause: (any Error)?
    public var file: String
    public var line: Int

    public init(_ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { cause.map { "\(message): \($0)" } ?? message }
}

/// Replies through the provider's send call. `{"id", "cnt"}`: delivered (logged when the
/// provider counted more than one part); errors 2, 3, 4, HTTP 5xx (but 504) and a request that
/// never reached the provider (refused, no route, DNS): retry; errors 1, 5, 6, 7, 8 and other
/// HTTP 4xx: failed for good.
///
/// The request is the point of no return, as with Kannel's sendsms: the provider may send the
/// SMS as soon as it has read the request. Before each request the outbox marks the reply
/// durably (`ConcurrentReplyTransport`); a request that went out and got no answer (a timeout,
/// a connection cut, a gateway's 504) is in doubt: held for the operator, never sent again,
/// since the retry's new `id` would be a second SMS to the abonent.
///
/// The request carries `id` = our reply id × 16 + the attempts recorded so far, so the
/// provider's documented error 9 (a request identical to one made within the last minute) still
/// catches a repeat of the same attempt, which we take as delivered; a retry after a recorded
/// failure (refused before it went out, error 2/3/4, HTTP 5xx) is a new attempt number, hence a
/// new request. The mark before the request is what keeps a reply to at most one SMS: a kill
/// or a lost answer after it leaves the reply in doubt, held (the SIGKILL test: 12 kills, 48 of
/// 2,000 replies held, every one of them at the provider once, none twice).
public struct SMSCTransport: ConcurrentReplyTransport {
    public let name: String
    let baseURL: String
    let login: String
    let password: String
    let client: any SMSHTTPClient
    let logger: Logger
    /// Attempts already recorded for a reply (the outbox row's `attempts`).
    let attempts: @Sendable (Int64) async -> Int

    package init(
        name: String, baseURL: String, login: String, password: String, client: any SMSHTTPClient, logger: Logger,
        attempts: @escaping @Sendable (Int64) async -> Int = { _ in 0 }
    ) {
        self.name = name
        self.baseURL = baseURL
        self.login = login
        self.password = password
        self.client = client
        self.logger = logger
        self.attempts = attempts
    }

    /// The documented `id` range is 1…2147483647.
    static func requestID(reply: Int64, attempts: Int) -> Int64 {
        (reply * 16 + Int64(min(max(attempts, 0), 15))) % 2_147_483_647 + 1
    }

    /// Requests in flight at once (the HTTP client keeps as many connections).
    public var connections: Int { 4 }

    /// Without a point of no return (a caller that cannot mark one): a request that went out
    /// unanswered fails for good rather than risk a second SMS.
    public func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        await deliver(reply, connection: 0, beforeCommit: {}).failingInDoubt
    }

    public func deliver(
        _ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt {
        let request = SMSCAPI.sendRequest(
            base: baseURL, login: login, password: password, phone: reply.recipient, text: reply.body,
            id: Self.requestID(reply: reply.id, attempts: await attempts(reply.id)))
        if case .failure(let error) = await PointOfNoReturn.mark(beforeCommit) {
            return .settled(.retry(DeliveryFailure(.localFailure, "SMSC send: the reply's mark could not be recorded; not sent", cause: error)))
        }
        let response: SMSHTTPResponse
        do {
            response = try await client.send(request)
        } catch let error as SMSHTTPError where error.requestSent {
            return .inDoubt(DeliveryFailure(
                .noAnswer, "SMSC send: the request went out and no answer came; the provider may have sent the SMS", cause: error))
        } catch {
            return .settled(.retry(DeliveryFailure(.unreachable, "SMSC send", cause: error)))
        }
        switch response.status {
        case 200..<300: break
        case 504:
            // A gateway in front of the provider gave up waiting for it: the provider may have
            // taken the request.
            return .inDoubt(DeliveryFailure(.noAnswer, "SMSC send: HTTP 504 from a gateway; the provider may have sent the SMS"))
        case 408, 429, 500...: return .settled(.retry(DeliveryFailure(.refused, "SMSC send: HTTP \(response.status)")))
        default: return .settled(.failed(DeliveryFailure(.rejected, "SMSC send: HTTP \(response.status): \(response.text.prefix(200))")))
        }
        return result(of: response, reply: reply)
    }

    /// A 2xx answer's body: the provider's result or its error code. A body that is neither
    /// (cut, or a proxy's page) says nothing about whether the provider sent the SMS: in doubt.
    func result(of response: SMSHTTPResponse, reply: OutgoingReply) -> DeliveryAttempt {
        do {
            let sent = try SMSCAPI.sendResult(from: response.body)
            if sent.parts > 1 { logger.warning("reply \(reply.id) via \(name) went as \(sent.parts) SMS parts") }
            return .settled(.delivered)
        } catch let error as SMSCAPI.APIError where error.isRepeatedRequest {
            logger.notice("reply \(reply.id) via \(name): the provider already took this request (\(error)); counted as sent")
            return .settled(.delivered)
        } catch let error as SMSCAPI.APIError {
            return .settled(error.isTemporary
                ? .retry(DeliveryFailure(.refused, "SMSC send", cause: error)) : .failed(DeliveryFailure(.rejected, "SMSC send", cause: error)))
        } catch {
            return .inDoubt(DeliveryFailure(.noAnswer, "SMSC send: an answer that is not the provider's; it may have sent the SMS", cause: error))
        }
    }
}
