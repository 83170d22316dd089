/// Something wrong with a message that was tolerated. Defects are values: parsing never throws.
public enum MailDefect: Sendable, Hashable {
    /// A line that is neither a header nor blank ended the header block early.
    case missingHeaderBodySeparator
    /// The first header line was a continuation line (it was dropped).
    case firstHeaderLineIsContinuation
    /// A header carried raw 8-bit bytes; the charset named was guessed.
    case unencoded8BitHeader(String)
    /// An RFC 2047 encoded word could not be decoded cleanly.
    case badEncodedWord
    /// `multipart/*` without a boundary parameter: the body was taken as one text part.
    case missingBoundary
    /// The boundary never occurs as a delimiter line: the body was taken as one text part.
    case boundaryNotFound
    /// The last part of a multipart was not closed by `--boundary--`.
    case missingCloseDelimiter
    /// A Content-Type that could not be parsed (text/plain assumed).
    case invalidContentType
    /// A charset label nobody knows; the text was decoded by guessing.
    case unknownCharset(String)
    /// Bytes not valid in the declared charset; the text was decoded by guessing (or with U+FFFD).
    case invalidBytesForCharset(String)
    /// 8-bit text with no charset declared; the charset named was guessed.
    case undeclaredCharset(String)
    /// Base64 with characters outside the alphabet or an impossible length.
    case badBase64
    /// Quoted-printable with `=` not followed by two hex digits (kept literally).
    case badQuotedPrintable
    /// A Content-Transfer-Encoding nobody knows (taken as-is).
    case unknownTransferEncoding(String)
    /// Nesting deeper than `MailLimits.maxDepth` was not descended into.
    case depthLimit
    /// More parts than `MailLimits.maxParts`; the rest were ignored.
    case partLimit
    /// More header fields than `MailLimits.maxHeaders`; the rest were ignored.
    case headerLimit
    /// Decoded text longer than `MailLimits.maxDecodedBytes` was cut.
    case truncated
}

extension Array where Element == MailDefect {
    /// Appends unless already present (defects are a set kept in first-seen order).
    mutating func record(_ defect: MailDefect) {
        if !contains(defect) { append(defect) }
    }
}
