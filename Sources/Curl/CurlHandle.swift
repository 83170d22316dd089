import CCurl
import Dispatch

/// One libcurl easy handle, reused across requests (so the logged-in connection and the selected
/// mailbox are reused), used by one request at a time: `perform` runs on the handle's own serial
/// `DispatchQueue`, never on Swift's cooperative pool.
public final class CurlHandle: @unchecked Sendable {
    public let label: String
    private let queue: DispatchQueue
    // Touched only on `queue`.
    private var handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    public init(label: String) {
        CurlRuntime.initialize()
        self.label = label
        queue = DispatchQueue(label: "metergate.curl.\(label)")
        handle = curl_easy_init()
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Closes the handle's connections (IMAP LOGOUT, POP3 QUIT — which makes DELE final — SMTP QUIT)
    /// and starts afresh.
    public func closeConnections() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                curl_easy_cleanup(self.handle)
                self.handle = curl_easy_init()
                continuation.resume()
            }
        }
    }

    /// Runs `body` on the handle's queue with the handle freshly reset (options cleared, live
    /// connections kept) and the callbacks pointed at `transfer`.
    func perform<Output: Sendable>(
        url: String, _ transfer: CurlTransfer, configure: @escaping @Sendable (CurlOptions) throws -> Void,
        finish: @escaping @Sendable (CurlOptions, CurlTransfer) -> Output
    ) async throws -> Output {
        let box = UncheckedBox(transfer)
        // A cancelled task aborts its transfer (libcurl's progress callback), so a stalled
        // server cannot hold a stopping daemon for curl's own timeouts.
        return try await withTaskCancellationHandler {
            try await run(url: url, box, configure: configure, finish: finish)
        } onCancel: {
            box.value.cancelled.store(true, ordering: .relaxed)
        }
    }

    private func run<Output: Sendable>(
        url: String, _ box: UncheckedBox<CurlTransfer>, configure: @escaping @Sendable (CurlOptions) throws -> Void,
        finish: @escaping @Sendable (CurlOptions, CurlTransfer) -> Output
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Swift.Result<Output, any Error> {
                    do {
                        return try self.performBlocking(url: url, box.value, configure: configure, finish: finish)
                    } catch let error as CurlError where error.isHeaderOverflow {
                        // A burst of unsolicited lines (an IMAP connection told of many flag
                        // changes or expunges at once) passed libcurl 7.88's limit: start a fresh
                        // connection and try once more.
                        curl_easy_cleanup(self.handle)
                        self.handle = curl_easy_init()
                        box.value.reset()
                        return try self.performBlocking(url: url, box.value, configure: configure, finish: finish)
                    }
                })
            }
        }
    }

    private func performBlocking<Output>(
        url: String, _ transfer: CurlTransfer, configure: (CurlOptions) throws -> Void,
        finish: (CurlOptions, CurlTransfer) -> Output
    ) throws -> Output {
        // Debug builds: a transfer made from a task would hold a thread of the cooperative pool
        // for as long as the server takes; it runs on the handle's queue, where no task is current.
        assert(withUnsafeCurrentTask { $0 == nil }, "curl_easy_perform called from a task, on the cooperative pool")
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let options = CurlOptions(handle: handle, url: url)
        defer { options.release() }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        try options.set(CURLOPT_URL, url)
        try options.set(CURLOPT_NOSIGNAL, 1)
        try options.setPointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        try options.check(ccurl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, CurlCallbacks.write), CURLOPT_WRITEFUNCTION)
        try options.setPointer(CURLOPT_WRITEDATA, context)
        try options.check(ccurl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, CurlCallbacks.header), CURLOPT_HEADERFUNCTION)
        try options.setPointer(CURLOPT_HEADERDATA, context)
        try options.check(ccurl_setopt_callback(handle, CURLOPT_READFUNCTION, CurlCallbacks.read), CURLOPT_READFUNCTION)
        try options.setPointer(CURLOPT_READDATA, context)
        try options.check(ccurl_setopt_debug(handle, CurlCallbacks.debug), CURLOPT_DEBUGFUNCTION)
        try options.setPointer(CURLOPT_DEBUGDATA, context)
        try options.set(CURLOPT_VERBOSE, 1)
        try options.check(ccurl_setopt_progress(handle, CurlCallbacks.progress), CURLOPT_XFERINFOFUNCTION)
        try options.setPointer(CURLOPT_XFERINFODATA, context)
        try options.set(CURLOPT_NOPROGRESS, 0)
        try configure(options)
        let code = withExtendedLifetime(transfer) { curl_easy_perform(handle) }
        guard code == CURLE_OK || (transfer.truncated && code == CURLE_WRITE_ERROR) else {
            var message = String(cString: curl_easy_strerror(code))
            let detail = String(cString: errorBuffer)
            if transfer.cancelled.load(ordering: .relaxed), code == CURLE_ABORTED_BY_CALLBACK {
                message = "cancelled: metergate is stopping"
            } else if let refusal = transfer.endOfDataRefusal {
                message = "aborted before the end of data: \(refusal)"
            } else if transfer.bodyTooLarge {
                message = "the message is larger than the limit of \(transfer.maxBodyBytes) bytes"
            } else if !detail.isEmpty, detail != message {
                message += ": " + detail
            }
            var error = CurlError(
                code: Int(code.rawValue), message: message,
                serverResponse: Self.lastAnswer(transfer.serverLines), url: url)
            error.endOfDataSent = transfer.endOfDataSent
            error.answeredAfterEndOfData = transfer.answeredAfterEndOfData
            error.requestSent = options.infoLong(CURLINFO_REQUEST_SIZE) > 0
            throw error
        }
        if let stripped = transfer.strippedLine {
            // The answer lost part of a line: never taken as the server's (a listing cut short
            // would look like less new mail). The connection's state is unknown: start afresh.
            curl_easy_cleanup(handle)
            handle = curl_easy_init()
            throw CurlError(
                code: Int(CURLE_WEIRD_SERVER_REPLY.rawValue),
                message: "a server response line was longer than the receive buffer and was cut (\(stripped)); the answer is not used",
                serverResponse: Self.lastAnswer(transfer.serverLines), url: url)
        }
        let result = finish(options, transfer)
        // libcurl 7.88 (Debian's CVE-2023-38039 fix) adds every response line of the handle's
        // life to one counter and fails transfers once it passes 300 KiB: start a fresh handle
        // (a new connection) well before that.
        if options.infoLong(CURLINFO_HEADER_SIZE) > Self.headerBudget {
            curl_easy_cleanup(handle)
            handle = curl_easy_init()
        }
        return result
    }

    static let headerBudget = 128 * 1024

    /// The server's last answer before libcurl closed the session (an SMTP `221 Bye`, an IMAP
    /// `* BYE` or logout, a POP3 sign-off says nothing about what failed).
    static func lastAnswer(_ lines: [String]) -> String? {
        lines.last { line in
            let upper = line.uppercased()
            return !line.hasPrefix("221") && !upper.hasPrefix("* BYE") && !upper.contains("LOGOUT COMPLETED")
                && !upper.contains("LOGGING OUT")
        } ?? lines.last
    }
}

/// Hands a value to the handle's queue; the handle's serial queue is the only user meanwhile.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Options of one transfer; owns the `curl_slist`s and string copies libcurl does not copy.
final class CurlOptions {
    let handle: UnsafeMutableRawPointer
    let url: String
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    init(handle: UnsafeMutableRawPointer, url: String) {
        self.handle = handle
        self.url = url
    }

    func release() {
        for list in lists { curl_slist_free_all(list) }
        lists.removeAll()
    }

    func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw CurlError(
                code: Int(code.rawValue),
                message: "option \(option.rawValue) refused: \(String(cString: curl_easy_strerror(code)))", url: url)
        }
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(ccurl_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String?) throws {
        try check(ccurl_setopt_string(handle, option, value), option)
    }

    func set(_ option: CURLoption, offset value: Int) throws {
        try check(ccurl_setopt_off(handle, option, curl_off_t(value)), option)
    }

    func setPointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws {
        try check(ccurl_setopt_pointer(handle, option, value), option)
    }

    func set(_ option: CURLoption, list values: [String]) throws {
        guard !values.isEmpty else { return }
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values {
            guard let appended = curl_slist_append(list, value) else {
                if let list { curl_slist_free_all(list) }
                throw CurlError(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory", url: url)
            }
            list = appended
        }
        lists.append(list!)
        try check(ccurl_setopt_slist(handle, option, list), option)
    }

    func setTLS(_ tls: CurlTLS) throws {
        try set(CURLOPT_SSL_VERIFYPEER, tls.verify ? 1 : 0)
        try set(CURLOPT_SSL_VERIFYHOST, tls.verify ? 2 : 0)
        if let caFile = tls.caFile { try set(CURLOPT_CAINFO, caFile) }
    }

    func setTimeout(_ timeout: Duration) throws {
        let milliseconds = max(1, Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000))
        try set(CURLOPT_TIMEOUT_MS, milliseconds)
        try set(CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 15_000))
    }

    func infoLong(_ info: CURLINFO) -> Int {
        var value = 0
        _ = ccurl_getinfo_long(handle, info, &value)
        return value
    }
}
