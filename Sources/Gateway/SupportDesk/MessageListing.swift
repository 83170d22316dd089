import Foundation
import Ledger
import MeterCore

/// A recorded message as the support desk shows it (`metergate messages`, the console): the
/// JSON line of contract §5 and the text for a terminal.
package struct MessageListing: Sendable {
    /// One result of the outcome, read back from the recorded JSON.
    package struct Result: Sendable, Hashable {
        package var uin: String
        package var status: String
        package var reason: String?
        package var readings: [String]
        package var replaces: [String]?
    }

    package let record: MessageRecord

    package init(_ record: MessageRecord) {
        self.record = record
    }

    /// What the parser read: the SMS text, or the subject and the body lines of a mail (the
    /// ledger keeps exactly that as the message's text; the subject alone when there is none).
    package var textAsRead: String {
        if let text = record.text, !text.isEmpty { return text }
        return record.subject ?? ""
    }

    /// The `results` array exactly as recorded (`Outcome.jsonLine` writes it between
    /// `"results":` and `,"reply":`; neither can occur inside an escaped string).
    package var resultsJSON: String {
        let json = record.outcomeJSON
        guard let start = json.range(of: "\"results\":"), let end = json.range(of: ",\"reply\":", options: .backwards),
              start.upperBound <= end.lowerBound
        else { return "[]" }
        return String(json[start.upperBound..<end.lowerBound])
    }

    package var results: [Result] {
        guard let data = resultsJSON.data(using: .utf8),
              let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return [] }
        return array.map { item in
            Result(
                uin: item["uin"] as? String ?? "", status: item["status"] as? String ?? "", reason: item["reason"] as? String,
                readings: item["readings"] as? [String] ?? [], replaces: item["replaces"] as? [String])
        }
    }

    /// The reply's text: the message's own, or the first queued one.
    package var replyText: String? { record.reply ?? record.replies.first?.body }

    /// One object of `metergate messages --format json` (contract §5), keys in the contract's order.
    package var jsonLine: String {
        var json = JSONLine()
        json.open()
        json.key("id"); json.string(record.externalID)
        json.key("channel"); json.string(record.channel)
        json.key("received_at"); json.string(Timestamp.iso8601(record.receivedAt))
        json.key("from"); if let sender = record.sender { json.string(sender) } else { json.raw("null") }
        json.key("text"); json.string(textAsRead)
        json.key("status"); json.string(record.status)
        json.key("reason"); if let reason = record.reason { json.string(reason) } else { json.raw("null") }
        json.key("results"); json.raw(resultsJSON)
        json.key("reply"); if let reply = replyText { json.string(reply) } else { json.raw("null") }
        json.key("reply_state"); if let state = record.replyState { json.string(state) } else { json.raw("null") }
        json.close()
        return json.text
    }

    /// A few lines for a terminal: the header, the text as read, the results, the reply.
    package var textBlock: String {
        var lines: [String] = []
        let outcome = record.status + (record.reason.map { "/" + $0 } ?? "")
        lines.append("\(Timestamp.iso8601(record.receivedAt))  \(record.channel)  \(record.sender ?? "-")  \(outcome)  id \(record.externalID)")
        for line in textAsRead.split(separator: "\n", omittingEmptySubsequences: false).prefix(20) {
            lines.append("    > " + Self.printable(String(line)))
        }
        for result in results {
            var line = "    uin \(result.uin): \(result.status)"
            if let reason = result.reason { line += "/\(reason)" }
            if !result.readings.isEmpty { line += " " + result.readings.joined(separator: " ") }
            if let replaces = result.replaces { line += " (replaces " + replaces.joined(separator: " ") + ")" }
            lines.append(line)
        }
        if let reply = replyText {
            lines.append("    reply [\(record.replyState ?? "-")]: " + Self.printable(reply.replacingOccurrences(of: "\n", with: " ")))
        } else {
            lines.append("    reply: none")
        }
        return lines.joined(separator: "\n")
    }

    /// Control characters shown as `?`, so that a message cannot drive the operator's terminal.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" ? "?" : $0
        }))
    }

    /// The sender key the ledger stores for what a person typed: a phone number in any common
    /// spelling (`8 (903) 123-45-67`, `+7 903 123 45 67` → `+79031234567`), or an address lower-cased.
    package static func senderKey(_ typed: String) -> String {
        let trimmed = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.contains("@") ? Contact.normalizeEmail(trimmed) : Contact.normalizePhone(trimmed)
    }
}
