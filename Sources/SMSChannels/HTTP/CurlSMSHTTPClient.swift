import CCurl
import Dispatch
import Foundation

/// `SMSHTTPClient` straight over libcurl (CCurl), for the few GET/POST calls of the SMS
/// gateways. A minimal stand-in written while the shared `Curl` target was not yet on main;
/// to be replaced by a thin adapter over `Curl.CurlHandle.http` once it is.
///
/// One easy handle per client, reused (keep-alive), driven on the client's own serial
/// `DispatchQueue`: `curl_easy_perform` blocks and must never run on Swift's cooperative pool.
/// TLS: peer and host verified unless `verifyTLS` is false; `caFile` sets `CURLOPT_CAINFO`.
package final class CurlSMSHTTPClient: SMSHTTPClient, @unchecked Sendable {
    private let queue: DispatchQueue
    private let verifyTLS: Bool
    private let caFile: String?
    // Touched only on `queue`.
    private var handle: UnsafeMutableRawPointer?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    package init(label: String, verifyTLS: Bool = true, caFile: String? = nil) {
        _ = Self.globalInit
        queue = DispatchQueue(label: "metergate.http.\(label)")
        self.verifyTLS = verifyTLS
        self.caFile = caFile
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    package func send(_ request: SMSHTTPRequest) async throws -> SMSHTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.perform(request) })
            }
        }
    }

    private final class Sink {
        var bytes: [UInt8] = []
    }

    private func perform(_ request: SMSHTTPRequest) throws -> SMSHTTPResponse {
        if handle == nil { handle = curl_easy_init() }
        guard let handle else { throw SMSHTTPError(description: "curl_easy_init failed", isTransient: true) }
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        let milliseconds = request.timeout.components.seconds * 1000 + request.timeout.components.attoseconds / 1_000_000_000_000_000
        var code = ccurl_setopt_string(handle, CURLOPT_URL, request.url)
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) : code
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(max(1, milliseconds))) : code
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 10_000) : code
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, verifyTLS ? 1 : 0) : code
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, verifyTLS ? 2 : 0) : code
        code = code == CURLE_OK ? ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0) : code
        if code == CURLE_OK, let caFile { code = ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile) }
        code = code == CURLE_OK ? ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer) : code
        code = code == CURLE_OK ? ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque()) : code
        code = code == CURLE_OK ? ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
            let total = size * count
            buffer.withMemoryRebound(to: UInt8.self, capacity: total) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: total)) }
            return total
        }) : code
        if code == CURLE_OK, let form = request.form {
            let body = FormEncoding.encode(form)
            code = ccurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.utf8.count))
            code = code == CURLE_OK ? ccurl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body) : code
        }
        guard code == CURLE_OK else { throw error(code, request) }
        let result = curl_easy_perform(handle)
        guard result == CURLE_OK else {
            // A failed connection may leave the handle in a state not worth reusing.
            curl_easy_cleanup(handle)
            self.handle = nil
            throw error(result, request)
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return SMSHTTPResponse(status: status, body: sink.bytes)
    }

    private func error(_ code: CURLcode, _ request: SMSHTTPRequest) -> SMSHTTPError {
        let detail = String(cString: errorBuffer)
        let words = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        // The URL may carry a password in its query: name only scheme, host and path.
        let place = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let transient: Set<UInt32> = [
            CURLE_COULDNT_CONNECT.rawValue, CURLE_OPERATION_TIMEDOUT.rawValue, CURLE_GOT_NOTHING.rawValue,
            CURLE_SEND_ERROR.rawValue, CURLE_RECV_ERROR.rawValue, CURLE_COULDNT_RESOLVE_HOST.rawValue,
            CURLE_PARTIAL_FILE.rawValue,
        ]
        return SMSHTTPError(description: "\(place): \(words) (curl \(code.rawValue))", isTransient: transient.contains(code.rawValue))
    }
}
