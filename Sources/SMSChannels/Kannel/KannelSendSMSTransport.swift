import Foundation
import Logging
import MeterCore

/// Replies through Kannel's `sendsms` interface (`GET /cgi-bin/sendsms?username=…&password=…
/// &to=…&text=…`).
///
/// The text goes as UTF-8 with `charset=UTF-8`, plus `coding=2` (UCS-2) when it has a
/// character outside the GSM 7-bit alphabet: without `coding` Kannel sends 7-bit and every
/// Cyrillic letter becomes `?`; with `coding=2` but no `charset` it takes the UTF-8 bytes
/// for UTF-16BE (both observed with Kannel 1.4.5). The outcome:
/// - `202` (`0: Accepted for delivery`, `3: Queued for later delivery`) and any other 2xx:
///   delivered (Kannel's own queue retries towards the SMSC from there);
/// - no answer (connection refused, timeout), `5xx` (`503` queue full), `403`/`401` saying
///   `Authorization failed for sendsms` (fix `username`/`password`, the reply waits), `429`:
///   retry with backoff;
/// - another `4xx` (`400 Missing receiver number`, `403 Not routable. Do not try again.`):
///   failed for good, kept for the operator.
///
/// The request is the point of no return: sendsms queues the SMS as soon as it has read it, so a
/// request that went out and got no answer (a timeout, a connection cut by a network partition)
/// may have been queued. Before each request the outbox marks the reply durably
/// (`ConcurrentReplyTransport`); a request that went out unanswered is in doubt: held, never
/// sent again (a second request would send the abonent a second SMS). Only a request that surely
/// never arrived (connection refused, no route, DNS) is tried again.
public struct KannelSendSMSTransport: ConcurrentReplyTransport {
    public let name: String
    let url: String
    let username: String?
    let password: String?
    let sender: String?
    let client: any SMSHTTPClient

    package init(name: String, url: String, username: String?, password: String?, sender: String?, client: any SMSHTTPClient) {
        self.name = name
        self.url = url
        self.username = username
        self.password = password
        self.sender = sender
        self.client = client
    }

    /// The sendsms URL's query for `reply` (exposed for tests).
    package func fields(for reply: OutgoingReply) -> [SMSFormField] {
        var fields: [SMSFormField] = []
        if let username { fields.append(.init("username", username)) }
        if let password { fields.append(.init("password", password)) }
        if let sender { fields.append(.init("from", sender)) }
        fields.append(.init("to", reply.recipient))
        fields.append(.init("text", reply.body))
        fields.append(.init("charset", "UTF-8"))
        if SMSText.coding(of: reply.body) == .ucs2 { fields.append(.init("coding", "2")) }
        return fields
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
        let request = SMSHTTPRequest(url: FormEncoding.url(url, adding: fields(for: reply)), timeout: .seconds(30))
        if case .failure(let error) = await PointOfNoReturn.mark(beforeCommit) {
            return .settled(.retry(DeliveryFailure(.localFailure, "Kannel sendsms: the reply's mark could not be recorded; not sent", cause: error)))
        }
        let response: SMSHTTPResponse
        do {
            response = try await client.send(request)
        } catch let error as SMSHTTPError where error.requestSent {
            return .inDoubt(DeliveryFailure(
                .noAnswer, "Kannel sendsms: the request went out and no answer came; Kannel may have queued the SMS", cause: error))
        } catch {
            return .settled(.retry(DeliveryFailure(.unreachable, "Kannel sendsms", cause: error)))
        }
        return .settled(Self.result(status: response.status, body: response.text))
    }

    static func result(status: Int, body: String) -> DeliveryResult {
        let said = body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
        switch status {
        case 200..<300:
            return .delivered
        case 401:
            return .retry(DeliveryFailure(.authentication, "Kannel sendsms refused the credentials (HTTP \(status): \(said)); check username/password"))
        case 403 where said.localizedCaseInsensitiveContains("authoriz"):
            return .retry(DeliveryFailure(.authentication, "Kannel sendsms refused the credentials (HTTP \(status): \(said)); check username/password"))
        case 408, 429:
            return .retry(DeliveryFailure(.refused, "Kannel sendsms: HTTP \(status): \(said)"))
        case 400..<500:
            return .failed(DeliveryFailure(.rejected, "Kannel sendsms refused the message (HTTP \(status): \(said))"))
        default:
            return .retry(DeliveryFailure(.refused, "Kannel sendsms: HTTP \(status): \(said)"))
        }
    }
}
