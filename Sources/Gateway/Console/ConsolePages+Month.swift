import Foundation
import Ledger

extension ConsolePages {
    /// What the month page is drawn from.
    package struct Month: Sendable {
        package var today: Int
        package var days: [Int]
        package var sameDayLastMonth: Int
        package var readings: [DailyCount]
        package var messages: [DailyCount]
        package var feeds: [FeedState]
        package var configuredFeeds: [String]
        package var outbox: [String: Int]
        package var held: Int

        package init(
            today: Int, days: [Int], sameDayLastMonth: Int, readings: [DailyCount], messages: [DailyCount], feeds: [FeedState],
            configuredFeeds: [String], outbox: [String: Int], held: Int
        ) {
            self.today = today
            self.days = days
            self.sameDayLastMonth = sameDayLastMonth
            self.readings = readings
            self.messages = messages
            self.feeds = feeds
            self.configuredFeeds = configuredFeeds
            self.outbox = outbox
            self.held = held
        }
    }

    /// `YYYY-MM-DD` of a day number (days since 1970 in the operator's zone).
    package static func dayLabel(_ day: Int) -> String {
        let date = Date(timeIntervalSince1970: Double(day) * 86400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    package static func month(_ month: Month, timeZone: TimeZone) -> String {
        let inMonth = Set(month.days)
        let statuses = month.messages.filter { inMonth.contains($0.day) && !$0.key.contains(":") }
        let reasons = Dictionary(grouping: month.messages.filter { inMonth.contains($0.day) && $0.key.contains(":") }, by: \.key)
            .map { ($0.key, $0.value.map(\.count).reduce(0, +)) }
        let outcomeTotals = Dictionary(grouping: statuses, by: \.key).map { ($0.key, $0.value.map(\.count).reduce(0, +)) }
        let total = outcomeTotals.map(\.1).reduce(0, +)
        var body = "<p>The last \(month.days.count) days, \(HTML.escape(dayLabel(month.days.first ?? 0))) to \(HTML.escape(dayLabel(month.today))): \(total) messages.</p>"
        body += "<div class=\"charts\">"
        body += ConsoleCharts.stackedDays(month.readings.filter { inMonth.contains($0.day) }, days: month.days, title: "Readings per day by channel", id: "chart-readings", label: dayLabel)
        body += ConsoleCharts.bars(outcomeTotals.map { ($0.0 + " (" + percent($0.1, of: total) + ")", $0.1) }, title: "Outcomes", id: "chart-outcomes")
        body += ConsoleCharts.bars(reasons.map { ($0.0 + " (" + percent($0.1, of: total) + ")", $0.1) }, title: "Outcomes by reason", id: "chart-reasons")
        body += "</div>"

        // Today against the same day of last month, by status.
        let keys = ["accepted", "held", "duplicate", "rejected", "answered", "ignored"]
        func count(_ day: Int, _ key: String) -> Int { month.messages.filter { $0.day == day && $0.key == key }.map(\.count).reduce(0, +) }
        body += "<h2>Today against the same day last month</h2><table id=\"today\"><tr><th></th>"
            + keys.map { "<th>\($0)</th>" }.joined() + "<th>all</th></tr>"
        for (label, day) in [("today, " + dayLabel(month.today), month.today), (dayLabel(month.sameDayLastMonth), month.sameDayLastMonth)] {
            body += "<tr><th>\(HTML.escape(label))</th>" + keys.map { "<td>\(count(day, $0))</td>" }.joined()
                + "<td>\(keys.map { count(day, $0) }.reduce(0, +))</td></tr>"
        }
        body += "</table>"

        body += "<h2>Feed health</h2><table id=\"feeds\"><tr><th>Feed</th><th>Last successful poll</th><th>Failing</th><th>Last error</th></tr>"
        let names = Array(Set(month.configuredFeeds + month.feeds.map(\.feed))).sorted()
        for name in names {
            let state = month.feeds.first { $0.feed == name }
            let failing = (state?.consecutiveFailures ?? 0) > 0
            body += """
                <tr><td>\(HTML.escape(name))</td><td>\(HTML.escape(state?.lastSuccessAt.map { Timestamp.iso8601($0, timeZone: timeZone) } ?? "never"))</td>
                <td class="\(failing ? "rejected" : "accepted")">\(failing ? "\(state?.consecutiveFailures ?? 0) polls in a row" : "no")</td>
                <td>\(HTML.escape(failing ? state?.lastError ?? "" : ""))</td></tr>
                """
        }
        body += "</table>"
        body += "<h2>Outbox</h2>"
        body += ConsoleCharts.bars(
            ["pending", "sent", "failed", "expired", "recorded"].map { ($0 == "recorded" ? "replay-only" : $0, month.outbox[$0] ?? 0) },
            title: "Replies by state (pending is the depth)", id: "chart-outbox")
        body += "<p>Held readings waiting for review: <a href=\"/review\">\(month.held)</a></p>"
        return body
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0%" }
        return String(format: "%.1f%%", Double(part) * 100 / Double(whole))
    }
}
