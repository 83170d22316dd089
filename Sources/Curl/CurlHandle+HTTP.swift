import CCurl

/// An HTTP(S) request, for SMS gateways and providers.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// The whole transfer, connecting included.
    public var timeout: Duration
    public var tls: CurlTLS

    public init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(30), tls: CurlTLS = .init()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.tls = tls
    }
}

/// An HTTP response (any status: a 404 is a response, not an error).
public struct HTTPResponse: Sendable {
    public var status: Int
    /// The final response's header fields (after any `100 Continue`), in order.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header field of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

extension CurlHandle {
    /// Performs an HTTP(S) request; throws `CurlError` when no response came (refused, timeout, TLS).
    public func http(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer()
        let method = request.method.uppercased()
        let headers = request.headers
        let body = request.body
        let tls = request.tls
        let timeout = request.timeout
        return try await perform(url: request.url, transfer) { options in
            try options.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try options.set(CURLOPT_VERBOSE, 0)
            try options.setTLS(tls)
            try options.setTimeout(timeout)
            var lines = headers.map { "\($0.0): \($0.1)" }
            if !headers.contains(where: { $0.0.lowercased() == "expect" }) { lines.append("Expect:") }
            try options.set(CURLOPT_HTTPHEADER, list: lines)
            switch method {
            case "GET":
                try options.set(CURLOPT_HTTPGET, 1)
            case "HEAD":
                try options.set(CURLOPT_NOBODY, 1)
            default:
                if method != "POST" { try options.set(CURLOPT_CUSTOMREQUEST, method) }
                if let body {
                    try options.set(CURLOPT_POST, 1)
                    try options.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: body.count)
                    if body.isEmpty {
                        try options.set(CURLOPT_COPYPOSTFIELDS, "")
                    } else {
                        // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now: the buffer need not outlive the call.
                        try body.withUnsafeBytes { bytes in
                            try options.setPointer(CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                        }
                    }
                } else if method == "POST" {
                    try options.set(CURLOPT_POST, 1)
                    try options.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: 0)
                }
            }
        } finish: { options, transfer in
            HTTPResponse(
                status: options.infoLong(CURLINFO_RESPONSE_CODE),
                headers: Self.parseHeaders(transfer.headerLines), body: transfer.body)
        }
    }

    /// The header fields of the last response block (`HTTP/1.1 100 Continue` blocks dropped).
    static func parseHeaders(_ lines: [String]) -> [(String, String)] {
        var fields: [(String, String)] = []
        for raw in lines {
            let line = raw.trimmingSuffix()
            if line.hasPrefix("HTTP/") {
                fields.removeAll()
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                fields.append((name, String(value)))
            }
        }
        return fields
    }
}

extension String {
    fileprivate func trimmingSuffix() -> Substring {
        var text = self[...]
        while let last = text.last, last == "\r" || last == "\n" || last == "\r\n" { text = text.dropLast() }
        return text
    }
}

/// Percent-encoding for query strings: RFC 3986 unreserved characters kept, everything else as
/// `%XX` of its UTF-8 bytes (a space becomes `%20`).
public func curlQueryEscape(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    let hex = Array("0123456789ABCDEF")
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.append(Character(Unicode.Scalar(byte)))
        default:
            result.append("%")
            result.append(hex[Int(byte >> 4)])
            result.append(hex[Int(byte & 0x0F)])
        }
    }
    return result
}
