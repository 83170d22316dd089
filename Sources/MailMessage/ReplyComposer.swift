import Foundation

/// Builds our automatic reply (RFC 5322 + RFC 3834 §3.1): `Auto-Submitted: auto-replied`,
/// In-Reply-To/References, UTF-8 quoted-printable text, CRLF line ends, header lines folded to ≤ 78
/// characters where there is whitespace to fold at, body lines ≤ 76. CR and LF in any header input
/// are replaced by spaces (no header injection).
///
/// The one composer of e-mail replies: SMTP sends what it writes, the file outbox keeps it.
public struct ReplyComposer: Sendable {
    public let fromHeader: String
    /// The domain of the `From` address (`metergate.invalid` without one), for our Message-IDs.
    public let domain: String

    /// `from` like `Показания <readings@example.test>`; a non-ASCII display name is RFC 2047 encoded.
    public init(from: String) {
        self.fromHeader = Self.mailboxHeader(from)
        let address = MailAddress.parseOne(Self.clean(from))?.address ?? Self.clean(from)
        let domain = address.lastIndex(of: "@").map { address[address.index(after: $0)...] }?
            .filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") } ?? ""
        self.domain = domain.isEmpty ? "metergate.invalid" : String(domain)
    }

    /// Our Message-ID of reply `id` created at `createdAt`: `<reply.ID.SECONDS@DOMAIN>`, the same
    /// at every attempt, so a reply sent twice (in doubt, then again by an operator) threads as one.
    public func messageID(reply id: Int64, createdAt: Date) -> String {
        let seconds = createdAt.timeIntervalSince1970
        let whole = seconds.isFinite ? Int64(min(max(seconds, 0), 253_402_300_799).rounded(.down)) : 0
        return "<reply.\(id).\(whole)@\(domain)>"
    }

    public func compose(to: String, subject: String, body: String, inReplyTo: String?, references: [String],
                        messageID: String, date: Date) -> [UInt8] {
        var lines: [String] = []
        lines.append("From: " + fromHeader)
        lines.append("To: " + Self.mailboxHeader(to))
        lines.append("Date: " + Self.rfc5322Date(date))
        lines.append("Message-ID: " + Self.clean(messageID))
        lines.append(Self.subjectHeader(Self.clean(subject)))
        if let irt = inReplyTo.map(Self.bracketed), !irt.isEmpty { lines.append("In-Reply-To: " + irt) }
        let refs = references.map(Self.bracketed).filter { !$0.isEmpty }
        if !refs.isEmpty { lines.append("References: " + refs.joined(separator: "\r\n ")) }
        lines.append("Auto-Submitted: auto-replied")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        var out = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        out += QuotedPrintable.encode(body)
        if out.suffix(2) != [0x0D, 0x0A] { out += [0x0D, 0x0A] }
        return out
    }

    static func clean(_ s: String) -> String {
        String(s.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 }).trimmingASCIIWhitespace()
    }

    /// A message id in angle brackets (`abc@x` → `<abc@x>`), empty when there is none.
    static func bracketed(_ id: String) -> String {
        let id = clean(id)
        guard !id.isEmpty, !id.hasPrefix("<") else { return id }
        return "<" + id + ">"
    }

    static func isPlainASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 } }

    /// `Name <addr>` with the name quoted or RFC 2047 encoded as needed; a bare address as is.
    static func mailboxHeader(_ value: String) -> String {
        let v = clean(value)
        guard let a = MailAddress.parseOne(v), let name = a.displayName, !name.isEmpty else { return v }
        if isPlainASCII(name) {
            let needsQuotes = name.contains(where: { "()<>[]:;@\\,.\"".contains($0) })
            let n = needsQuotes ? "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" : name
            return n + " <" + a.address + ">"
        }
        return EncodedWord.encodeWords(name).joined(separator: "\r\n ") + " <" + a.address + ">"
    }

    /// `Subject:` folded: ASCII text folded at spaces, otherwise UTF-8 "B" encoded words one per line.
    static func subjectHeader(_ subject: String) -> String {
        if isPlainASCII(subject), !subject.contains("=?") {
            var lines: [String] = []
            var current = "Subject:"
            for word in subject.split(separator: " ", omittingEmptySubsequences: false) {
                if current.count + 1 + word.count > 78, current.count > 1, current != "Subject:" {
                    lines.append(current)
                    current = ""
                }
                current += " " + word
            }
            lines.append(current)
            return lines.joined(separator: "\r\n")
        }
        return "Subject: " + EncodedWord.encodeWords(subject).joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ date: Date) -> String {
        // Clamp to years 1970…9999 so that no Date (NaN, ±inf, far future) can trap the conversion.
        let seconds = date.timeIntervalSince1970
        let t = seconds.isFinite ? Int64(min(max(seconds, 0), 253_402_300_799).rounded(.down)) : 0
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = t - days * 86400
        // Civil from days (H. Hinnant).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 7 + 4) % 7   // 1970-01-01 was a Thursday
        let wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][Int(weekday)]
        let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(m - 1)]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(wd), \(d) \(mon) \(y) \(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60)) +0000"
    }
}
