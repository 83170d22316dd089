import Curl
import Dispatch
import Foundation

/// One IMAP connection: opened, put under TLS and logged in by libcurl (`CURLOPT_CONNECT_ONLY`),
/// then spoken to by `IMAPClient` over `curl_easy_send`/`curl_easy_recv`. Everything blocking
/// runs on the session's own serial queue, never on Swift's cooperative pool. Any failure closes
/// the connection; the next use opens a new one.
final class IMAPSession: @unchecked Sendable {
    private let queue: DispatchQueue
    private let stream = CurlStream()
    // Touched only on `queue`.
    private var client: IMAPClient?

    init(label: String) {
        queue = DispatchQueue(label: "metergate.imap.\(label)")
    }

    /// Runs `body` on the queue with a logged-in client (opened with `request` when there is
    /// none). A cancelled task makes a waiting read give up within 100 ms.
    func run<Output: Sendable>(
        _ request: CurlMailRequest, maxLiteral: Int, _ body: @escaping @Sendable (IMAPClient) throws -> Output
    ) async throws -> Output {
        let stream = self.stream
        // Reset here, on the caller's side: a task cancelled already sets it again at once.
        stream.cancellation.set(false)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Swift.Result<Output, any Error> {
                        do {
                            let client = try self.open(request, maxLiteral: maxLiteral)
                            return try body(client)
                        } catch {
                            // The conversation's state is unknown: start afresh next time.
                            self.client = nil
                            stream.close()
                            if error is CurlError { throw error }
                            // The operator's line names the server, as libcurl's errors do.
                            throw MailSourceError("\(request.url): \(error)", code: (error as? MailSourceError)?.code ?? .unexpectedAnswer)
                        }
                    })
                }
            }
        } onCancel: {
            stream.cancellation.set(true)
        }
    }

    /// Sets the cancellation flag (an `IDLE` ends at the next slice).
    var cancellation: CurlCancellation { stream.cancellation }

    /// Logs out and closes.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.client?.logout()
                self.client = nil
                self.stream.close()
                continuation.resume()
            }
        }
    }

    private func open(_ request: CurlMailRequest, maxLiteral: Int) throws -> IMAPClient {
        if let client, stream.isOpen { return client }
        try stream.open(request)
        let client = IMAPClient(StreamTransport(stream, timeout: request.timeout), timeout: request.timeout, maxLiteral: maxLiteral)
        _ = try client.capability()
        self.client = client
        return client
    }
}

/// `CurlStream` as an `IMAPTransport`.
final class StreamTransport: IMAPTransport {
    let stream: CurlStream
    let timeout: Duration

    init(_ stream: CurlStream, timeout: Duration) {
        self.stream = stream
        self.timeout = timeout
    }

    func send(_ bytes: [UInt8]) throws { try stream.send(bytes, timeout: timeout) }
    func receive(wait: Duration) throws -> [UInt8]? { try stream.receive(wait: wait) }
}
