import Foundation
import GRDB
import Logging
import MeterCore
import Synchronization

/// The `inbox` table of Gammu SMSD's SQL backend (`sms[].kind: gammu`), polled for rows with
/// `Processed = 'false'`.
///
/// - A long message is one message: its rows are joined by the concatenation element of
///   `UDH` (`050003RRNNMM`, `060804RRRRNNMM`) or, where the schema has them, by
///   `MessageID`/`SequencePosition`/`PartCount`; parts are ordered by sequence and their
///   `TextDecoded` concatenated (SMSD 1.42 puts the whole text in part 1 and leaves the
///   others empty, which joins the same way). A message with parts missing waits until its
///   oldest row is `multipartWait` old (by `UpdatedInDB`, SQLite's clock), then goes with
///   what came, logged as incomplete.
/// - `externalID`: `gammu:<feed>:<ID of its first row>` — stable across polls and restarts.
/// - A row repeating an earlier one (same sender, network time, UDH and text: SMSD reading
///   the same SMS twice) joins that one: unprocessed, it is acknowledged with it; already
///   processed, it is marked processed at once (its content is in the ledger already).
/// - `acknowledge` sets `Processed = 'true'` on every row of the message, after the ledger
///   commit (the pipeline's order).
public final class GammuSMSDSource: MessageSource {
    public static let idPrefix = "gammu:"

    public let name: String
    public var channel: ChannelKind { .sms }
    public let database: GammuSMSDDatabase
    public let multipartWait: TimeInterval
    public let timeZone: TimeZone
    /// How far back (in row IDs) repeats of processed rows are looked for.
    public let repeatLookback: Int64 = 1000
    private let logger: Logger
    /// externalID → inbox row IDs, from the last poll.
    private let pending = Mutex<[String: [Int64]]>([:])
    /// Incomplete messages already reported as waiting.
    private let waitingNoted = Mutex<Set<Int64>>([])

    public init(
        name: String, database: GammuSMSDDatabase, multipartWait: TimeInterval = 60, timeZone: TimeZone = .current,
        logger: Logger = Logger(label: "metergate.sms.gammu")
    ) {
        self.name = name
        self.database = database
        self.multipartWait = multipartWait
        self.timeZone = timeZone
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
    }

    struct InboxRow {
        var id: Int64
        var sender: String
        var text: String
        var receivedAt: String
        var udh: String
        var raw: String
        var age: Double
        /// (group key, total, sequence) of a part of a long message.
        var part: (key: String, total: Int, sequence: Int)?

        var repeatKey: String { "\(sender)\u{1}\(receivedAt)\u{1}\(udh)\u{1}\(text)\u{1}\(raw)" }
    }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        let fetchLimit = max(limit * 4, 2000)
        let lookback = repeatLookback
        let (rows, earlier) = try database.read { db, columns -> ([InboxRow], Set<String>) in
            let multipart = columns.isSuperset(of: ["MessageID", "SequencePosition", "PartCount"])
            let extra = multipart ? ", MessageID, SequencePosition, PartCount" : ""
            let rows = try Row.fetchAll(db, sql: """
                SELECT ID, SenderNumber, TextDecoded, ReceivingDateTime, UDH, Text,
                    (julianday('now') - julianday(UpdatedInDB)) * 86400\(extra)
                FROM inbox WHERE Processed = 'false' ORDER BY ID LIMIT ?
                """, arguments: [fetchLimit]
            ).map { row in
                var inbox = InboxRow(
                    id: row[0], sender: row[1] ?? "", text: row[2] ?? "", receivedAt: (row[3] as String?) ?? "",
                    udh: row[4] ?? "", raw: row[5] ?? "", age: row[6] ?? 0, part: nil)
                if multipart, let total: Int = row[9], total > 1, let message: Int64 = row[7], let sequence: Int = row[8] {
                    inbox.part = ("m\(message)", total, sequence)
                } else if let concatenation = GammuConcatenation(udhHex: inbox.udh) {
                    inbox.part = ("\(inbox.sender)\u{1}\(concatenation.reference)\u{1}\(concatenation.total)",
                                  concatenation.total, concatenation.sequence)
                }
                return inbox
            }
            guard let first = rows.first?.id, let last = rows.last?.id else { return ([], []) }
            let earlier = try Row.fetchAll(db, sql: """
                SELECT SenderNumber, ReceivingDateTime, UDH, TextDecoded, Text FROM inbox
                WHERE ID >= ? AND ID < ? AND Processed <> 'false'
                """, arguments: [first - lookback, last]
            ).map { row in
                InboxRow(id: 0, sender: row[0] ?? "", text: row[3] ?? "", receivedAt: (row[1] as String?) ?? "",
                         udh: row[2] ?? "", raw: row[4] ?? "", age: 0).repeatKey
            }
            return (rows, Set(earlier))
        }
        guard !rows.isEmpty else { return [] }

        // Repeats: of processed rows (marked at once), of rows in this batch (acknowledged along).
        var repeatsOfProcessed: [Int64] = []
        var aliases: [Int64: [Int64]] = [:]
        var firstByKey: [String: Int64] = [:]
        var unique: [InboxRow] = []
        for row in rows {
            let key = row.repeatKey
            if earlier.contains(key) {
                repeatsOfProcessed.append(row.id)
            } else if let original = firstByKey[key] {
                aliases[original, default: []].append(row.id)
            } else {
                firstByKey[key] = row.id
                unique.append(row)
            }
        }
        if !repeatsOfProcessed.isEmpty {
            try database.write { db in
                try db.execute(
                    sql: "UPDATE inbox SET Processed = 'true' WHERE ID IN (\(repeatsOfProcessed.map(String.init).joined(separator: ",")))")
            }
            logger.notice("gammu inbox: \(repeatsOfProcessed.count) row(s) repeat an already processed SMS; marked processed")
        }

        // Long messages: a group per (key, run), a new run when a sequence number comes again.
        var groups: [[InboxRow]] = []
        var open: [String: [Int]] = [:]
        for row in unique {
            guard let part = row.part else {
                groups.append([row])
                continue
            }
            if let index = open[part.key]?.first(where: { !groups[$0].contains { $0.part?.sequence == part.sequence } }) {
                groups[index].append(row)
            } else {
                open[part.key, default: []].append(groups.count)
                groups.append([row])
            }
        }

        var messages: [IncomingMessage] = []
        var acknowledged: [String: [Int64]] = [:]
        for group in groups.sorted(by: { $0[0].id < $1[0].id }) {
            if messages.count == limit { break }
            let parts = group.sorted { ($0.part?.sequence ?? 0) < ($1.part?.sequence ?? 0) }
            let firstID = group[0].id
            var text = parts[0].text
            if let total = parts[0].part?.total {
                let present = Set(parts.compactMap { $0.part?.sequence })
                if present.count < total {
                    let oldest = group.map(\.age).max() ?? 0
                    guard oldest >= multipartWait else {
                        if waitingNoted.withLock({ $0.insert(firstID).inserted }) {
                            logger.info("gammu inbox row \(firstID): \(present.count) of \(total) parts so far; waiting up to \(Int(multipartWait))s for the rest")
                        }
                        continue
                    }
                    let missing = (1...total).filter { !present.contains($0) }.map(String.init).joined(separator: ", ")
                    logger.warning("gammu inbox row \(firstID): long message incomplete after \(Int(multipartWait))s — part(s) \(missing) of \(total) never came; processing the \(present.count) that did")
                }
                text = ""
                var previous = 0
                for part in parts {
                    let sequence = part.part?.sequence ?? previous + 1
                    if sequence > previous + 1, !text.isEmpty { text += " " }
                    text += part.text
                    previous = sequence
                }
            }
            waitingNoted.withLock { _ = $0.remove(firstID) }
            let id = Self.idPrefix + name + ":" + String(firstID)
            acknowledged[id] = group.flatMap { [$0.id] + (aliases[$0.id] ?? []) }
            messages.append(IncomingMessage(
                channel: .sms, feed: name, externalID: id, sender: parts[0].sender.isEmpty ? nil : parts[0].sender,
                text: text, receivedAt: date(parts[0].receivedAt) ?? Date()))
        }
        pending.withLock { $0 = acknowledged }
        _ = try? database.checkSentItems(logger: logger)
        return messages
    }

    public func acknowledge(_ externalIDs: [String]) async throws {
        let known = pending.withLock { $0 }
        var ids: [Int64] = []
        let prefix = Self.idPrefix + name + ":"
        for externalID in externalIDs {
            if let rows = known[externalID] {
                ids += rows
            } else if externalID.hasPrefix(prefix), let id = Int64(externalID.dropFirst(prefix.count)) {
                ids.append(id)
            }
        }
        guard !ids.isEmpty else { return }
        try database.write { db in
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let list = ids[chunk..<min(chunk + 500, ids.count)].map(String.init).joined(separator: ",")
                try db.execute(sql: "UPDATE inbox SET Processed = 'true' WHERE ID IN (\(list))")
            }
        }
        pending.withLock { known in for id in externalIDs { known[id] = nil } }
    }

    /// `YYYY-MM-DD HH:MM:SS` in `timeZone` (SMSD writes its local time).
    func date(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(digits[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }
}
