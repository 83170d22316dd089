/// One MIME entity: its headers, content type, and either children (multipart, message/rfc822)
/// or a still-encoded body.
public struct MIMEPart: Sendable {
    public var headers: [MailHeader]
    public var contentType: ContentType
    /// Lower-cased Content-Transfer-Encoding ("7bit" when absent).
    public var transferEncoding: String
    /// Lower-cased disposition kind ("inline", "attachment"), nil when absent.
    public var disposition: String?
    /// Filename from Content-Disposition `filename` or Content-Type `name` (RFC 2231/2047 decoded).
    public var filename: String?
    public var children: [MIMEPart]
    /// The body as it appears in the message (transfer-encoded); for multiparts, the whole body.
    public var rawBody: ArraySlice<UInt8>
    /// Text before the first boundary and after the closing one (multiparts only).
    public var preamble: ArraySlice<UInt8>
    public var epilogue: ArraySlice<UInt8>

    public var isAttachment: Bool { disposition == "attachment" }

    /// First header of that name (case-insensitive), unfolded and RFC 2047 decoded.
    public func header(_ name: String) -> String? {
        headers.first(named: name).map { EncodedWord.decode($0) }
    }

    /// Number of entities in this subtree, itself included.
    public var partCount: Int { 1 + children.reduce(0) { $0 + $1.partCount } }

    /// The body with its transfer encoding undone, cut at `maxBytes`.
    func decodedBody(maxBytes: Int, defects: inout [MailDefect]) -> [UInt8] {
        var bytes: [UInt8]
        switch transferEncoding {
        case "quoted-printable":
            bytes = QuotedPrintable.decode(rawBody, defects: &defects)
        case "base64":
            var d: [MailDefect]? = defects
            bytes = Base64.decode(rawBody, defects: &d)
            defects = d ?? defects
        case "7bit", "8bit", "binary", "":
            bytes = Array(rawBody)
        default:
            defects.record(.unknownTransferEncoding(transferEncoding))
            bytes = Array(rawBody)
        }
        if bytes.count > maxBytes {
            defects.record(.truncated)
            bytes.removeSubrange(max(0, maxBytes)...)
        }
        return bytes
    }

    /// The body as text in its declared (or guessed) charset, line ends normalised to LF.
    func decodedText(maxBytes: Int, defects: inout [MailDefect]) -> String {
        let bytes = decodedBody(maxBytes: maxBytes, defects: &defects)
        let text = Charset.decode(bytes[...], declared: contentType.parameter("charset"), defects: &defects).replacingLineEnds()
        if contentType.subtype == "plain", contentType.parameter("format")?.lowercased() == "flowed" {
            return FormatFlowed.unflow(text, delSp: contentType.parameter("delsp")?.lowercased() == "yes")
        }
        return text
    }
}
