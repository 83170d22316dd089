/// The few HTTP calls the SMS gateways and providers need, behind a protocol so that the
/// transports' decisions (delivered, retry, failed) are tested without a network.
package protocol SMSHTTPClient: Sendable {
    /// `GET url`, or `POST url` with `form` as `application/x-www-form-urlencoded` when given.
    /// Throws `SMSHTTPError` when no HTTP answer came (connection refused, timeout, TLS).
    func send(_ request: SMSHTTPRequest) async throws -> SMSHTTPResponse
}

package struct SMSHTTPRequest: Sendable, Hashable {
    package var url: String
    /// Form fields for a POST; nil for a GET.
    package var form: [SMSFormField]?
    package var timeout: Duration

    package init(url: String, form: [SMSFormField]? = nil, timeout: Duration = .seconds(30)) {
        self.url = url
        self.form = form
        self.timeout = timeout
    }
}

package struct SMSFormField: Sendable, Hashable {
    package var name: String
    package var value: String

    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

package struct SMSHTTPResponse: Sendable, Hashable {
    package var status: Int
    package var body: [UInt8]

    package init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    package var text: String { String(decoding: body, as: UTF8.self) }
}

/// No HTTP answer: the transfer failed. `isTransient`: worth retrying as it is (connection
/// refused or reset, timeout); otherwise a setting is wrong (bad URL, TLS certificate).
package struct SMSHTTPError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package var isTransient: Bool
    /// The request went out before the transfer failed (a timeout or a reset while waiting for
    /// the answer): the peer may have acted on it. False: it surely never arrived (refused,
    /// no route, DNS, TLS handshake).
    package var requestSent: Bool

    package init(description: String, isTransient: Bool, requestSent: Bool = false) {
        self.description = description
        self.isTransient = isTransient
        self.requestSent = requestSent
    }
}

/// Query strings and form bodies: RFC 3986 unreserved characters kept, everything else
/// percent-encoded as UTF-8 (`+` and `&` inside a text must not be read as separators).
package enum FormEncoding {
    package static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                output.unicodeScalars.append("%")
                output.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                output.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return output
    }

    package static func encode(_ fields: [SMSFormField]) -> String {
        fields.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&")
    }

    /// `url` with `fields` appended to its query.
    package static func url(_ url: String, adding fields: [SMSFormField]) -> String {
        guard !fields.isEmpty else { return url }
        let separator = url.contains("?") ? (url.hasSuffix("?") || url.hasSuffix("&") ? "" : "&") : "?"
        return url + separator + encode(fields)
    }
}
