import Foundation

/// The one line per message an operator reads in the log:
/// `sms gateway +7903***2204 uin=1234567 accepted T1=12345 T2=6789 reply=queued id=…`
public enum OutcomeLogLine {
    public static func text(
        _ outcome: Outcome, channel: ChannelKind, feed: String, sender: String?, replyQueued: Bool,
        personalData: Bool = false, statedTime: Date? = nil
    ) -> String {
        var parts = [channel.rawValue, escaped(feed), escaped(personalData ? (sender ?? "-") : Contact.mask(sender))]
        if outcome.results.isEmpty {
            parts.append(outcome.status.rawValue)
            if let reason = outcome.reason { parts.append("reason=\(reason.rawValue)") }
        }
        for (index, result) in outcome.results.enumerated() {
            if index > 0 { parts.append(";") }
            parts.append("uin=\(escaped(result.uin))")
            parts.append(result.status.rawValue)
            if let reason = result.reason { parts.append("reason=\(reason.rawValue)") }
            if result.meters.count == result.readings.count {
                for (meter, value) in zip(result.meters, result.readings) { parts.append(escaped("\(meter)=\(value)")) }
            } else if !result.readings.isEmpty {
                parts.append(escaped("readings=\(result.readings.joined(separator: ","))"))
            }
        }
        parts.append("reply=\(outcome.reply == nil ? "none" : (replyQueued ? "queued" : "unsendable"))")
        if let statedTime {
            // The source's own time was not believable: the time of receipt counted instead.
            let seconds = statedTime.timeIntervalSince1970
            parts.append("time=replaced:" + (seconds.isFinite ? String(format: "%.10g", seconds) : "\(seconds)"))
        }
        parts.append("id=" + escaped(personalData ? outcome.id : Contact.maskID(outcome.id, sender: sender)))
        return parts.joined(separator: " ")
    }

    /// A value as a text log line may show it: control characters (newlines, ESC, C1, the
    /// Unicode line separators) become `\n`, `\u{1B}`…, and a backslash is doubled, so no
    /// value can start a line of its own or drive the operator's terminal.
    public static func escaped(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: needsEscape) else { return value }
        var result = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                if needsEscape(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar == "\\" || (0x7F...0x9F).contains(scalar.value)
            || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0x85
            || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }
}
