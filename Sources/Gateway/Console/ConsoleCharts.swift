import Foundation
import Ledger

/// The month at a glance: server-rendered SVG (no script), every label escaped.
package enum ConsoleCharts {
    static let palette = ["#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8d99ae", "#6d597a", "#f4a261", "#264653"]

    /// Stacked bars: one bar a day (`days`, oldest first), one colour a key.
    package static func stackedDays(
        _ counts: [DailyCount], days: [Int], title: String, id: String, label: (Int) -> String
    ) -> String {
        let keys = Array(Set(counts.map(\.key))).sorted()
        var byDay: [Int: [String: Int]] = [:]
        for count in counts { byDay[count.day, default: [:]][count.key, default: 0] += count.count }
        let totals = days.map { day in byDay[day]?.values.reduce(0, +) ?? 0 }
        let maximum = max(1, totals.max() ?? 1)
        let width = 640.0, height = 220.0, left = 40.0, bottom = 30.0, top = 24.0
        let barWidth = (width - left - 10) / Double(max(1, days.count))
        var svg = """
            <svg id="\(HTML.escape(id))" width="\(Int(width) + 40)" height="\(Int(height + 20 + Double(keys.count) * 16))" role="img" aria-label="\(HTML.escape(title))" xmlns="http://www.w3.org/2000/svg">
            <text x="\(left)" y="16" font-size="13" font-weight="bold">\(HTML.escape(title))</text>
            <text x="4" y="\(top + 10)" font-size="10">\(maximum)</text><text x="4" y="\(height - bottom)" font-size="10">0</text>
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - 10)" y2="\(height - bottom)" stroke="#999"/>
            """
        let plot = height - bottom - top
        for (index, day) in days.enumerated() {
            var y = height - bottom
            let x = left + Double(index) * barWidth
            for (keyIndex, key) in keys.enumerated() {
                let value = byDay[day]?[key] ?? 0
                guard value > 0 else { continue }
                let h = plot * Double(value) / Double(maximum)
                y -= h
                svg += "<rect x=\(fmt(x + 1)) y=\(fmt(y)) width=\(fmt(max(1, barWidth - 2))) height=\(fmt(h)) fill=\"\(palette[keyIndex % palette.count])\"><title>\(HTML.escape(label(day))) \(HTML.escape(key)): \(value)</title></rect>"
            }
            if index % 5 == 0 || index == days.count - 1 {
                svg += "<text x=\(fmt(x)) y=\(fmt(height - bottom + 14)) font-size=\"10\">\(HTML.escape(label(day)))</text>"
            }
        }
        for (keyIndex, key) in keys.enumerated() {
            let y = height + 6 + Double(keyIndex) * 16
            svg += "<rect x=\(fmt(left)) y=\(fmt(y)) width=\"12\" height=\"12\" fill=\"\(palette[keyIndex % palette.count])\"/><text x=\(fmt(left + 18)) y=\(fmt(y + 10)) font-size=\"11\">\(HTML.escape(key)) (\(counts.filter { $0.key == key }.map(\.count).reduce(0, +)))</text>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars, largest first.
    package static func bars(_ values: [(String, Int)], title: String, id: String) -> String {
        let sorted = values.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        let maximum = max(1, sorted.first?.1 ?? 1)
        let rowHeight = 20.0, labelWidth = 230.0, width = 640.0
        var svg = """
            <svg id="\(HTML.escape(id))" width="\(Int(width))" height="\(Int(30 + rowHeight * Double(max(1, sorted.count))))" role="img" aria-label="\(HTML.escape(title))" xmlns="http://www.w3.org/2000/svg">
            <text x="4" y="16" font-size="13" font-weight="bold">\(HTML.escape(title))</text>
            """
        if sorted.isEmpty { svg += "<text x=\"4\" y=\"40\" font-size=\"12\">nothing yet</text>" }
        for (index, (label, value)) in sorted.enumerated() {
            let y = 26 + Double(index) * rowHeight
            let w = (width - labelWidth - 60) * Double(value) / Double(maximum)
            svg += "<text x=\"4\" y=\(fmt(y + 13)) font-size=\"11\">\(HTML.escape(label))</text>"
            svg += "<rect x=\(fmt(labelWidth)) y=\(fmt(y + 2)) width=\(fmt(max(1, w))) height=\(fmt(rowHeight - 5)) fill=\"\(palette[index % palette.count])\"/>"
            svg += "<text x=\(fmt(labelWidth + w + 4)) y=\(fmt(y + 13)) font-size=\"11\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    static func fmt(_ value: Double) -> String { "\"" + String(format: "%.1f", value) + "\"" }
}
