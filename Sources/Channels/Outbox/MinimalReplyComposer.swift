import Foundation
import MeterCore

/// A small RFC 5322 composer for e-mail replies written to the file outbox.
///
/// Headers: `From`, `To`, `Date`, `Message-ID`, `Subject` (RFC 2047 `B` encoded words when
/// not ASCII), `In-Reply-To`, `References`, `Auto-Submitted: auto-replied` (RFC 3834),
/// `MIME-Version`, `Content-Type: text/plain; charset=utf-8`,
/// `Content-Transfer-Encoding: 8bit`. Lines end in CRLF. Everything is derived from the
/// reply, so composing the same reply twice gives the same bytes.
public struct MinimalReplyComposer: Sendable {
    /// `Name <address>` or a bare address; a non-ASCII name is encoded (RFC 2047).
    public var from: String

    public init(from: String) {
        self.from = from
    }

    public func compose(_ reply: OutgoingReply) -> [UInt8] {
        var lines: [String] = []
        lines.append("From: " + Self.mailbox(from))
        lines.append("To: " + Self.singleLine(reply.recipient))
        lines.append("Date: " + Self.date(reply.createdAt))
        lines.append("Message-ID: <metergate.reply.\(reply.id).\(Int64(reply.createdAt.timeIntervalSince1970))@\(domain)>")
        lines.append("Subject: " + Self.encodedText(reply.subject ?? ""))
        if let inReplyTo = reply.inReplyTo, !inReplyTo.isEmpty {
            lines.append("In-Reply-To: " + Self.messageID(inReplyTo))
        }
        let references = reply.references.filter { !$0.isEmpty }.map(Self.messageID)
        if !references.isEmpty {
            lines.append("References: " + references.joined(separator: "\r\n "))
        }
        lines.append("Auto-Submitted: auto-replied")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: 8bit")
        var text = lines.joined(separator: "\r\n") + "\r\n\r\n"
        let body = reply.body.replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\r", with: "\n")
        text += body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        return Array(text.utf8)
    }

    /// The domain of the `from` address, for Message-IDs.
    private var domain: String {
        let address = Self.address(in: from)
        if let at = address.lastIndex(of: "@") {
            let domain = address[address.index(after: at)...].filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
            if !domain.isEmpty { return String(domain) }
        }
        return "metergate.invalid"
    }

    // MARK: - Header pieces

    static func singleLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    static func address(in mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return mailbox.trimmingCharacters(in: .whitespaces)
    }

    static func mailbox(_ mailbox: String) -> String {
        let mailbox = singleLine(mailbox)
        guard let open = mailbox.lastIndex(of: "<") else { return mailbox.trimmingCharacters(in: .whitespaces) }
        var name = mailbox[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
            name = String(name.dropFirst().dropLast())
        }
        let address = "<" + address(in: mailbox) + ">"
        if name.isEmpty { return address }
        if !name.allSatisfy(\.isASCII) { return encodedText(name) + " " + address }
        let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escaped + "\" " + address
    }

    static func messageID(_ id: String) -> String {
        let trimmed = singleLine(id).trimmingCharacters(in: .whitespaces)
        return trimmed.hasPrefix("<") ? trimmed : "<" + trimmed + ">"
    }

    /// ASCII text as is; anything else as RFC 2047 `=?UTF-8?B?…?=` words of at most 75
    /// characters, never splitting a character, folded with CRLF SP.
    static func encodedText(_ text: String) -> String {
        let text = singleLine(text)
        if text.allSatisfy(\.isASCII) { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty, chunk.count + bytes.count > 45 {
                words.append(encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(encodedWord(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// `Thu, 20 Nov 2026 08:15:00 +0000`.
    static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String {
            let value = value ?? 0
            return value < 10 ? "0\(value)" : "\(value)"
        }
        return "\(weekdays[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) "
            + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
