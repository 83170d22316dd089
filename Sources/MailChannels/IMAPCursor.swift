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
    /// The mailbox as a `SELECT` reported it.
    struct MailboxView: Sendable, Hashable {
        var exists: UInt32
        var validity: UInt32
        var uidNext: UInt32
    }

    /// `* 3 EXISTS`, `* OK [UIDVALIDITY 1795248658] …`, `* OK [UIDNEXT 4] …` → the view; nil when
    /// one of the three is missing.
    static func mailboxView(_ lines: [Substring]) -> MailboxView? {
        var exists: UInt32?
        var validity: UInt32?
        var uidNext: UInt32?
        for line in lines where line.hasPrefix("* ") {
            let words = line.split(separator: " ")
            if words.count == 3, words[2].uppercased() == "EXISTS", let count = UInt32(words[1]) {
                exists = count
            } else if words.count >= 4, words[1].uppercased() == "OK" {
                let code = words[2].uppercased()
                let value = UInt32(words[3].filter(\.isNumber))
                if code == "[UIDVALIDITY" { validity = value } else if code == "[UIDNEXT" { uidNext = value }
            }
        }
        guard let exists, let validity, let uidNext else { return nil }
        return MailboxView(exists: exists, validity: validity, uidNext: uidNext)
    }

    /// `* 5 EXPUNGE` or `* VANISHED …`: message numbers moved under the listing.
    static func isExpunge(_ line: Substring) -> Bool {
        let words = line.split(separator: " ")
        guard words.count >= 2, words[0] == "*" else { return false }
        if words[1].uppercased() == "VANISHED" { return true }
        return words.count == 3 && UInt32(words[1]) != nil && words[2].uppercased() == "EXPUNGE"
    }

    /// `* CAPABILITY IMAP4rev1 ESEARCH …` → the words, upper-cased.
    static func capabilities(_ lines: [Substring]) -> Set<String> {
        Set(lines.filter { $0.uppercased().hasPrefix("* CAPABILITY ") }.flatMap { $0.split(separator: " ").dropFirst(2).map { $0.uppercased() } })
    }

    /// `* ESEARCH (TAG "A5") UID COUNT 3 ALL 4:5,9` → (3, [4, 5, 9]), at most `first` UIDs
    /// expanded; nil without an ESEARCH line.
    static func esearch(_ lines: [Substring], first: Int) -> (count: Int, uids: [UInt32])? {
        guard let line = lines.first(where: { $0.uppercased().hasPrefix("* ESEARCH") }) else { return nil }
        let words = line.split(separator: " ")
        var count = 0
        var uids: [UInt32] = []
        var index = 0
        while index < words.count {
            let word = words[index].uppercased()
            if word == "COUNT", index + 1 < words.count {
                count = Int(words[index + 1]) ?? 0
                index += 1
            } else if word == "ALL", index + 1 < words.count {
                for range in words[index + 1].split(separator: ",") where uids.count < first {
                    let ends = range.split(separator: ":").compactMap { UInt32($0) }
                    guard let low = ends.min(), let high = ends.max() else { continue }
                    var uid = low
                    while uid <= high, uids.count < first {
                        uids.append(uid)
                        if uid == high { break }
                        uid += 1
                    }
                }
                index += 1
            }
            index += 1
        }
        return (count, uids)
    }

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
        guard time.count == 3, zone.count == 5, let zoneValue = Int(zone.dropFirst()), zoneValue >= 0 else { return nil }
        // A server's number is checked before it reaches the calendar (a year of 2^63 is no date).
        guard (1...9999).contains(year), (1...31).contains(day), (0...23).contains(time[0]), (0...59).contains(time[1]),
              (0...60).contains(time[2]) else { return nil }
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
