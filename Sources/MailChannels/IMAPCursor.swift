import Foundation

/// Where an IMAP feed stands, kept in the ledger's feed row after each acknowledged batch.
///
/// Every UID below `next` in the mailbox of this `validity` is in the ledger (or was set aside as
/// already recorded). After a UIDVALIDITY change, the UIDs below `dedupeBelow` (the messages that
/// were there when the change was seen) are compared by Message-ID (or bytes) with what the
/// feed recorded before, so old mail is not answered again.
struct IMAPCursor: Codable, Sendable, Hashable {
    var mailbox: String
    var validity: UInt32
    var next: UInt32
    var dedupeBelow: UInt32

    static func decode(_ text: String?) -> IMAPCursor? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(IMAPCursor.self, from: data)
    }

    var encoded: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Parsers for the untagged lines libcurl hands back from custom IMAP commands.
enum IMAPResponse {
    /// `* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1795248658)` → the named numbers.
    static func statusItems(_ lines: [Substring]) -> [String: UInt32] {
        var items: [String: UInt32] = [:]
        for line in lines where line.hasPrefix("* STATUS") {
            guard let open = line.lastIndex(of: "("), let close = line.lastIndex(of: ")"), open < close else { continue }
            let words = line[line.index(after: open)..<close].split(separator: " ")
            var index = 0
            while index + 1 < words.count {
                if let value = UInt32(words[index + 1]) { items[words[index].uppercased()] = value }
                index += 2
            }
        }
        return items
    }

    /// `* SEARCH 1 2 5` → [1, 2, 5].
    static func searchUIDs(_ lines: [Substring]) -> [UInt32] {
        lines.filter { $0.hasPrefix("* SEARCH") }.flatMap { $0.dropFirst(8).split(separator: " ").compactMap { UInt32($0) } }
    }

    struct FetchItem: Sendable {
        var uid: UInt32
        var size: Int?
        var internalDate: (date: Date, offset: Int)?
        /// `\Seen` among its FLAGS (nil when FLAGS were not asked for).
        var seen: Bool?
    }

    /// `* 5 FETCH (UID 12 RFC822.SIZE 3456 INTERNALDATE "21-Nov-2026 08:11:36 +0300" FLAGS (\Seen))`.
    static func fetchItems(_ lines: [Substring]) -> [UInt32: FetchItem] {
        var items: [UInt32: FetchItem] = [:]
        for line in lines where line.hasPrefix("* ") && line.contains(" FETCH (") {
            let words = line.split(separator: " ")
            guard let uidIndex = words.firstIndex(where: { $0.uppercased().hasSuffix("UID") && $0.count <= 4 }),
                  uidIndex + 1 < words.count, let uid = UInt32(words[uidIndex + 1].filter(\.isNumber)) else { continue }
            var item = FetchItem(uid: uid)
            if let sizeIndex = words.firstIndex(where: { $0.uppercased().hasSuffix("RFC822.SIZE") }), sizeIndex + 1 < words.count {
                item.size = Int(words[sizeIndex + 1].filter(\.isNumber))
            }
            if let range = line.range(of: "INTERNALDATE \"") {
                let rest = line[range.upperBound...]
                if let end = rest.firstIndex(of: "\"") { item.internalDate = internalDate(rest[..<end]) }
            }
            if let range = line.range(of: "FLAGS (", options: .caseInsensitive) {
                let rest = line[range.upperBound...]
                let flags = rest[..<(rest.firstIndex(of: ")") ?? rest.endIndex)]
                item.seen = flags.split(separator: " ").contains { $0.caseInsensitiveCompare("\\Seen") == .orderedSame }
            }
            items[uid] = item
        }
        return items
    }

    /// `21-Nov-2026 08:11:36 +0300` (day may be space-padded).
    static func internalDate(_ text: Substring) -> (date: Date, offset: Int)? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 3 else { return nil }
        let dayParts = parts[0].split(separator: "-")
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard dayParts.count == 3, let day = Int(dayParts[0]), let year = Int(dayParts[2]),
              let month = months.firstIndex(of: dayParts[1].lowercased()) else { return nil }
        let time = parts[1].split(separator: ":").compactMap { Int($0) }
        let zone = parts[2]
        guard time.count == 3, zone.count == 5, let zoneValue = Int(zone.dropFirst()) else { return nil }
        let offset = (zone.first == "-" ? -1 : 1) * ((zoneValue / 100) * 3600 + (zoneValue % 100) * 60)
        var components = DateComponents()
        components.year = year
        components.month = month + 1
        components.day = day
        components.hour = time[0]
        components.minute = time[1]
        components.second = time[2]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        guard let utc = calendar.date(from: components) else { return nil }
        return (utc.addingTimeInterval(TimeInterval(-offset)), offset)
    }

    /// `1:3,5,7:9`, in chunks of at most `chunk` UIDs.
    static func sequenceSets(_ uids: [UInt32], chunk: Int = 500) -> [String] {
        let sorted = Array(Set(uids)).sorted()
        var sets: [String] = []
        var index = 0
        while index < sorted.count {
            let slice = sorted[index..<min(index + chunk, sorted.count)]
            var ranges: [String] = []
            var start = slice.first!
            var previous = start
            for uid in slice.dropFirst() {
                if uid == previous + 1 { previous = uid; continue }
                ranges.append(start == previous ? "\(start)" : "\(start):\(previous)")
                start = uid
                previous = uid
            }
            ranges.append(start == previous ? "\(start)" : "\(start):\(previous)")
            sets.append(ranges.joined(separator: ","))
            index += chunk
        }
        return sets
    }

    /// An IMAP quoted string.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
