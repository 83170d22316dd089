import CCurl

/// How to log in to a mail server.
public struct CurlLogin: Sendable, Hashable {
    public var username: String?
    public var password: String?
    /// An OAuth2 access token: libcurl authenticates with OAUTHBEARER or XOAUTH2.
    public var bearer: String?
    /// `CURLOPT_LOGIN_OPTIONS`, e.g. `AUTH=XOAUTH2`.
    public var options: String?

    public init(username: String? = nil, password: String? = nil, bearer: String? = nil, options: String? = nil) {
        self.username = username
        self.password = password
        self.bearer = bearer
        self.options = options
    }
}

/// One IMAP, POP3 or SMTP transfer (a URL fetch, a custom command, or a message upload).
public struct CurlMailRequest: Sendable {
    /// `imap[s]://host:port/MAILBOX[/;UID=n]`, `pop3[s]://host:port/[n]`, `smtp[s]://host:port[/helo-name]`.
    public var url: String
    /// `CURLOPT_CUSTOMREQUEST`: `UID SEARCH UID 5:*`, `EXAMINE INBOX`, `UIDL`, `DELE`… (nil: the URL's own action).
    public var command: String?
    public var login: CurlLogin
    /// STARTTLS required on a plain URL (`CURLUSESSL_ALL`); implicit-TLS URLs are always TLS.
    public var requireTLS: Bool
    public var tls: CurlTLS
    public var timeout: Duration
    /// `CURLOPT_NOBODY` (POP3 `DELE`: a single-line answer).
    public var noBody: Bool
    /// The transfer fails (and says so) when the body grows beyond this.
    public var maxBodyBytes: Int?
    /// Keep only the first this-many bytes of the body and end the transfer there (the connection
    /// is closed): the response says `truncated`.
    public var truncateAt: Int?
    /// `CURLOPT_BUFFERSIZE`: a response line longer than half of it that arrives over several
    /// reads is cut by libcurl, and the transfer then fails (`CurlMailRequest.receiveBufferSize`).
    public var receiveBufferSize = CurlMailRequest.receiveBufferSize
    /// SMTP: the envelope sender (`<>` for the null reverse-path) and recipients, and the message.
    public var mailFrom: String?
    public var recipients: [String]
    public var upload: [UInt8]?
    /// SMTP: called on the transfer's thread once the whole message went to libcurl, just before
    /// the end of data (`CRLF.CRLF`) is sent: the last moment the server surely has not accepted
    /// it. When it throws, the transfer is aborted without sending the end (curl 42).
    public var beforeEndOfData: (@Sendable () throws -> Void)?

    public init(
        url: String, command: String? = nil, login: CurlLogin = .init(), requireTLS: Bool = false,
        tls: CurlTLS = .init(), timeout: Duration = .seconds(60), noBody: Bool = false, maxBodyBytes: Int? = nil,
        mailFrom: String? = nil, recipients: [String] = [], upload: [UInt8]? = nil
    ) {
        self.url = url
        self.command = command
        self.login = login
        self.requireTLS = requireTLS
        self.tls = tls
        self.timeout = timeout
        self.noBody = noBody
        self.maxBodyBytes = maxBodyBytes
        self.truncateAt = nil
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.upload = upload
        self.beforeEndOfData = nil
    }
}

extension CurlMailRequest {
    /// `CURLOPT_BUFFERSIZE` of mail transfers: response lines up to half of it (512 KiB) arrive
    /// whole; a longer one fails the transfer (`CurlError.lineStripped`) instead of being cut.
    public static let receiveBufferSize = 1 << 20
}

/// What a mail transfer returned.
public struct CurlMailResponse: Sendable {
    /// The body: a fetched message, or the untagged lines of a custom IMAP command, or a POP3 list.
    public var body: [UInt8]
    /// The server's last response lines (protocol lines, not the body), most recent last.
    public var serverLines: [String]
    /// `CURLINFO_RESPONSE_CODE`: the last SMTP/POP3 code; 0 for IMAP.
    public var responseCode: Int
    /// New connections this transfer had to open (0: the previous session was reused; POP3
    /// message numbers are only valid within one session).
    public var newConnections: Int
    /// The body was cut at `truncateAt`.
    public var truncated: Bool

    /// The body as text lines (CRLF or LF), empty lines dropped.
    public var lines: [Substring] {
        String(decoding: body, as: UTF8.self).split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
    }
}

extension CurlHandle {
    /// Performs one IMAP, POP3 or SMTP transfer on this handle (reusing its connection).
    public func mail(_ request: CurlMailRequest) async throws -> CurlMailResponse {
        let transfer = CurlTransfer()
        if let limit = request.maxBodyBytes { transfer.maxBodyBytes = limit }
        if let upload = request.upload { transfer.upload = upload }
        if let truncateAt = request.truncateAt { transfer.truncateAt = truncateAt }
        transfer.beforeEndOfData = request.beforeEndOfData
        return try await perform(url: request.url, transfer) { options in
            try options.set(CURLOPT_PROTOCOLS_STR, "imap,imaps,pop3,pop3s,smtp,smtps")
            // libcurl 7.88 keeps only the first 40 bytes of a response line longer than half its
            // receive buffer when the line arrives over several reads (a distant server), and says
            // so only in its verbose text: a 2,000-UID `* SEARCH` line (8.9 KB) lost most of its
            // UIDs with the default 16 KiB. Every handle asks for the same size at every transfer.
            try options.set(CURLOPT_BUFFERSIZE, request.receiveBufferSize)
            try options.setTLS(request.tls)
            try options.setTimeout(request.timeout)
            try options.set(CURLOPT_SERVER_RESPONSE_TIMEOUT, max(1, Int(request.timeout.components.seconds)))
            if request.requireTLS { try options.set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
            if let username = request.login.username { try options.set(CURLOPT_USERNAME, username) }
            if let password = request.login.password { try options.set(CURLOPT_PASSWORD, password) }
            if let bearer = request.login.bearer { try options.set(CURLOPT_XOAUTH2_BEARER, bearer) }
            if let loginOptions = request.login.options { try options.set(CURLOPT_LOGIN_OPTIONS, loginOptions) }
            if let command = request.command, !command.isEmpty { try options.set(CURLOPT_CUSTOMREQUEST, command) }
            if request.noBody { try options.set(CURLOPT_NOBODY, 1) }
            if let from = request.mailFrom { try options.set(CURLOPT_MAIL_FROM, from) }
            try options.set(CURLOPT_MAIL_RCPT, list: request.recipients)
            if let upload = request.upload {
                // No INFILESIZE: the read callback's end closes the message (libcurl appends CRLF.CRLF).
                _ = upload
                try options.set(CURLOPT_UPLOAD, 1)
            }
        } finish: { options, transfer in
            CurlMailResponse(
                body: transfer.body, serverLines: transfer.serverLines,
                responseCode: options.infoLong(CURLINFO_RESPONSE_CODE),
                newConnections: options.infoLong(CURLINFO_NUM_CONNECTS), truncated: transfer.truncated)
        }
    }
}
