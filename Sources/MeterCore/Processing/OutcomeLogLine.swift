/// The one line per message an operator reads in the log:
/// `sms gateway +7903***2204 uin=1234567 accepted T1=12345 T2=6789 reply=queued id=…`
public enum OutcomeLogLine {
    public static func text(
        _ outcome: Outcome, channel: ChannelKind, feed: String, sender: String?, replyQueued: Bool,
        personalData: Bool = false
    ) -> String {
        var parts = [channel.rawValue, feed, personalData ? (sender ?? "-") : Contact.mask(sender)]
        if outcome.results.isEmpty {
            parts.append(outcome.status.rawValue)
            if let reason = outcome.reason { parts.append("reason=\(reason.rawValue)") }
        }
        for (index, result) in outcome.results.enumerated() {
            if index > 0 { parts.append(";") }
            parts.append("uin=\(result.uin)")
            parts.append(result.status.rawValue)
            if let reason = result.reason { parts.append("reason=\(reason.rawValue)") }
            if result.meters.count == result.readings.count {
                for (meter, value) in zip(result.meters, result.readings) { parts.append("\(meter)=\(value)") }
            } else if !result.readings.isEmpty {
                parts.append("readings=\(result.readings.joined(separator: ","))")
            }
        }
        parts.append("reply=\(outcome.reply == nil ? "none" : (replyQueued ? "queued" : "unsendable"))")
        parts.append("id=\(personalData ? outcome.id : Contact.maskDigitRuns(in: outcome.id))")
        return parts.joined(separator: " ")
    }
}
