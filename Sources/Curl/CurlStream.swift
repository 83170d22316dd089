import CCurl
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A raw byte stream over a connection that libcurl opened (`CURLOPT_CONNECT_ONLY`), with
/// libcurl's TLS (implicit, or STARTTLS when `requireTLS`) and libcurl's login (IMAP `LOGIN` or
/// SASL, SMTP `EHLO` + `AUTH`): after `open`, the session is authenticated and the bytes are the
/// caller's (`curl_easy_send`/`curl_easy_recv`).
///
/// Blocking, and not thread-safe: one caller at a time, on a thread of its own (never Swift's
/// cooperative pool; `IMAPSession` and `SMTPPipe` use a serial `DispatchQueue` each).
public final class CurlStream: @unchecked Sendable {
    private var handle: UnsafeMutableRawPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// The URL of the open connection (credentials are options, never in it).
    public private(set) var url = ""
    /// Set from any thread: a wait in `receive` or `send` ends with a cancellation error.
    public let cancellation = CurlCancellation()

    public init() {
        CurlRuntime.initialize()
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    public var isOpen: Bool { handle != nil }

    /// Connects, sets up TLS and logs in as `request` says (its URL's path and command are not used).
    public func open(_ request: CurlMailRequest) throws {
        close()
        guard let handle = curl_easy_init() else {
            throw CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed", url: request.url)
        }
        errorBuffer[0] = 0
        let options = CurlOptions(handle: handle, url: request.url)
        defer { options.release() }
        do {
            try options.set(CURLOPT_URL, request.url)
            try options.set(CURLOPT_NOSIGNAL, 1)
            try options.setPointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
            try options.set(CURLOPT_PROTOCOLS_STR, "imap,imaps,smtp,smtps")
            try options.set(CURLOPT_CONNECT_ONLY, 1)
            try options.setTLS(request.tls)
            try options.setTimeout(request.timeout)
            if request.requireTLS { try options.set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
            if let username = request.login.username { try options.set(CURLOPT_USERNAME, username) }
            if let password = request.login.password { try options.set(CURLOPT_PASSWORD, password) }
            if let bearer = request.login.bearer { try options.set(CURLOPT_XOAUTH2_BEARER, bearer) }
            if let loginOptions = request.login.options { try options.set(CURLOPT_LOGIN_OPTIONS, loginOptions) }
        } catch {
            curl_easy_cleanup(handle)
            throw error
        }
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            var message = String(cString: curl_easy_strerror(code))
            let detail = String(cString: errorBuffer)
            if !detail.isEmpty, detail != message { message += ": " + detail }
            curl_easy_cleanup(handle)
            throw CurlError(code: Int(code.rawValue), message: message, url: request.url)
        }
        self.handle = handle
        url = request.url
    }

    /// Ends the connection (without a protocol goodbye).
    public func close() {
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
    }

    /// Sends all of `bytes`, waiting at most `timeout` for the socket to take them.
    public func send(_ bytes: [UInt8], timeout: Duration) throws {
        guard let handle else { throw closedError("send") }
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        try bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                var sent = 0
                let code = curl_easy_send(handle, buffer.baseAddress! + offset, buffer.count - offset, &sent)
                if code == CURLE_OK {
                    offset += sent
                } else if code == CURLE_AGAIN {
                    try wait(for: Int16(POLLOUT), until: deadline, what: "send")
                } else {
                    throw failure(code, "send")
                }
            }
        }
    }

    /// What arrived: waits up to `wait` for the first bytes, nil when none came in that time.
    /// A closed connection throws.
    public func receive(maxBytes: Int = 256 << 10, wait: Duration) throws -> [UInt8]? {
        guard let handle else { throw closedError("receive") }
        let deadline = ContinuousClock.now + wait
        var bytes = [UInt8](repeating: 0, count: maxBytes)
        while true {
            var count = 0
            let code = bytes.withUnsafeMutableBytes { curl_easy_recv(handle, $0.baseAddress!, maxBytes, &count) }
            if code == CURLE_OK {
                guard count > 0 else {
                    close()
                    throw CurlError(code: Int(CURLE_RECV_ERROR.rawValue), message: "the server closed the connection", url: url)
                }
                bytes.removeLast(maxBytes - count)
                return bytes
            }
            guard code == CURLE_AGAIN else { throw failure(code, "receive") }
            if ContinuousClock.now >= deadline { return nil }
            do {
                try self.wait(for: Int16(POLLIN), until: deadline, what: "receive")
            } catch let error as CurlError where error.code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) {
                return nil
            }
        }
    }

    /// Waits for the socket (in slices of 100 ms, to see a cancellation).
    private func wait(for events: Int16, until deadline: ContinuousClock.Instant, what: String) throws {
        guard let handle else { throw closedError(what) }
        var socket: curl_socket_t = -1
        guard ccurl_getinfo_socket(handle, &socket) == CURLE_OK, socket >= 0 else { throw closedError(what) }
        while true {
            if cancellation.isCancelled {
                throw CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "cancelled: metergate is stopping", url: url)
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw CurlError(code: Int(CURLE_OPERATION_TIMEDOUT.rawValue), message: "no answer in time (\(what))", url: url)
            }
            let milliseconds = min(100, max(1, Int(left.components.seconds) * 1000 + Int(left.components.attoseconds / 1_000_000_000_000_000)))
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(milliseconds))
            if ready > 0 { return }
            if ready < 0, errno != EINTR {
                throw CurlError(code: Int(CURLE_RECV_ERROR.rawValue), message: "poll failed (\(what)): errno \(errno)", url: url)
            }
        }
    }

    private func failure(_ code: CURLcode, _ what: String) -> CurlError {
        close()
        return CurlError(code: Int(code.rawValue), message: "\(what): \(String(cString: curl_easy_strerror(code)))", url: url)
    }

    private func closedError(_ what: String) -> CurlError {
        CurlError(code: Int(CURLE_SEND_ERROR.rawValue), message: "\(what): the connection is not open", url: url)
    }
}

/// A flag that a cancelled task sets and a blocked stream sees within 100 ms.
public final class CurlCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    public func set(_ value: Bool) { cancelled.store(value, ordering: .relaxed) }
}
