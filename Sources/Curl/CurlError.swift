import CCurl
import Failures

/// A failed transfer: the curl code, curl's own words, and the server's last response when known.
public struct CurlError: CodedError, Sendable {
    /// `CURLcode` raw value (7 couldn't connect, 28 timeout, 60 certificate, 67 login denied, …).
    public var code: Int
    /// `curl_easy_strerror` text, followed by the `CURLOPT_ERRORBUFFER` detail when it adds one.
    public var message: String
    /// The server's last response line (`A003 NO [AUTHENTICATIONFAILED] …`, `550 5.1.1 …`), when known.
    public var serverResponse: String?
    /// The URL of the request (never holds credentials: they go in options, not in URLs).
    public var url: String
    /// SMTP: the end of the message data was handed to the server (its `.` may have gone out), so
    /// the server may have accepted the message even though the transfer failed.
    public var endOfDataSent = false
    /// SMTP: the server answered after the end of the data (the answer in `serverResponse` is about it).
    public var answeredAfterEndOfData = false
    /// HTTP: the request went out on a connection (`CURLINFO_REQUEST_SIZE` above 0) before the
    /// transfer failed: the server may have acted on it though no answer came.
    public var requestSent = false

    public init(code: Int, message: String, serverResponse: String? = nil, url: String = "") {
        self.code = code
        self.message = message
        self.serverResponse = serverResponse
        self.url = url
    }

    /// One clear line: `imaps://127.0.0.1:10993/INBOX: SSL peer certificate … (curl 60)`.
    public var description: String {
        var text = url.isEmpty ? "" : "\(url): "
        text += "\(message) (curl \(code))"
        if let serverResponse, !serverResponse.isEmpty { text += "; server said: \(serverResponse)" }
        return text
    }

    /// Connect, timeout, send/receive and dropped-connection errors: worth trying again later.
    public var isTransient: Bool {
        Self.transientCodes.contains(code)
    }

    /// Certificate or TLS handshake problems (wrong CA, self-signed, host name mismatch).
    public var isTLSProblem: Bool {
        [35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91].contains(code)
    }

    /// libcurl 7.88 gave up on a transfer whose response lines passed its header-size limit.
    var isHeaderOverflow: Bool {
        code == Int(CURLE_RECV_ERROR.rawValue) && message.contains("response headers")
    }

    /// The server refused the credentials.
    public var isLoginDenied: Bool { code == Int(CURLE_LOGIN_DENIED.rawValue) }

    static let transientCodes: Set<Int> = [
        Int(CURLE_COULDNT_RESOLVE_HOST.rawValue), Int(CURLE_COULDNT_CONNECT.rawValue),
        Int(CURLE_OPERATION_TIMEDOUT.rawValue), Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue),
        Int(CURLE_GOT_NOTHING.rawValue), Int(CURLE_PARTIAL_FILE.rawValue), Int(CURLE_WEIRD_SERVER_REPLY.rawValue),
        Int(CURLE_SSL_CONNECT_ERROR.rawValue), Int(CURLE_AGAIN.rawValue),
    ]
}
