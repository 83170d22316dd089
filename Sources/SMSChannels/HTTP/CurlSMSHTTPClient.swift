import Curl
import Synchronization

/// `SMSHTTPClient` over the `Curl` target: a few reused easy handles (connection reuse; one
/// request per handle at a time, each performing on its own queue, off the cooperative pool),
/// TLS verified unless `tls_verify: false`, `ca_file` as the trusted certificates.
package final class CurlSMSHTTPClient: SMSHTTPClient {
    private let label: String
    private let tls: CurlTLS
    private let idle = Mutex<[CurlHandle]>([])

    package init(label: String, verifyTLS: Bool = true, caFile: String? = nil) {
        self.label = label
        self.tls = CurlTLS(verify: verifyTLS, caFile: caFile)
    }

    package func send(_ request: SMSHTTPRequest) async throws -> SMSHTTPResponse {
        let handle = idle.withLock { $0.popLast() } ?? CurlHandle(label: label)
        defer { idle.withLock { if $0.count < 4 { $0.append(handle) } } }
        var http = HTTPRequest(method: "GET", url: request.url, timeout: request.timeout, tls: tls)
        if let form = request.form {
            http.method = "POST"
            http.headers = [("Content-Type", "application/x-www-form-urlencoded")]
            http.body = Array(FormEncoding.encode(form).utf8)
        }
        do {
            let response = try await handle.http(http)
            return SMSHTTPResponse(status: response.status, body: response.body)
        } catch let error as CurlError {
            throw SMSHTTPError(description: Self.redacted(error.description), isTransient: error.isTransient, requestSent: error.requestSent)
        }
    }

    /// curl's messages may quote the URL, and our URLs may carry a password: drop the query.
    static func redacted(_ text: String) -> String {
        guard let query = text.firstIndex(of: "?") else { return text }
        let end = text[query...].firstIndex(where: { $0 == " " || $0 == ":" }) ?? text.endIndex
        return String(text[..<query]) + "?…" + String(text[end...])
    }
}
