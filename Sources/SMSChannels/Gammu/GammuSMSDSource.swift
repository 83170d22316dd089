import Foundation
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
/// - Several instances may poll one PostgreSQL SMSD database: the rows of the messages a poll
///   returns are claimed (`GammuSMSDStore.claim`) until they are acknowledged; a message with a
///   row another instance holds is left to that instance.
public final class GammuSMSDSource: MessageSource {
    public static let idPrefix = "gammu:"

    public let name: String
    public var channel: ChannelKind { .sms }
    public let database: any GammuSMSDStore
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
        name: String, database: any GammuSMSDStore, multipartWait: TimeInterval = 60, timeZone: TimeZone = .current,
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

        init(_ row: GammuInboxRow) {
            id = row.id
            sender = row.sender
            text = row.text
            receivedAt = row.receivedAt
            udh = row.udh
            raw = row.raw
            age = row.age
            if let multipart = row.multipart {
                part = ("m\(multipart.message)", multipart.total, multipart.sequence)
            } else if let concatenation = GammuConcatenation(udhHex: row.udh) {
                part = ("\(row.sender)\u{1}\(concatenation.reference)\u{1}\(concatenation.total)",
                        concatenation.total, concatenation.sequence)
            }
        }

        var repeatKey: String { "\(sender)\u{1}\(receivedAt)\u{1}\(udh)\u{1}\(text)\u{1}\(raw)" }
    }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        let fetchLimit = max(limit * 4, 2000)
        let batch = try await database.unprocessed(limit: fetchLimit, lookback: repeatLookback)
        let rows = batch.rows.map(InboxRow.init)
        let earlier = Set(batch.earlier.map { InboxRow($0).repeatKey })
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
            try await database.markProcessed(repeatsOfProcessed)
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

        // The messages ready to go, up to `limit`: complete, or waited for long enough.
        var ready: [(group: [InboxRow], text: String)] = []
        for group in groups.sorted(by: { $0[0].id < $1[0].id }) {
            if ready.count == limit { break }
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
            ready.append((parts, text))
        }

        // Claimed for this instance: a message with any row another instance holds is left to it.
        let wanted = ready.flatMap { item in item.group.flatMap { [$0.id] + (aliases[$0.id] ?? []) } }
        let claimed = wanted.isEmpty ? [] : try await database.claim(wanted)
        var messages: [IncomingMessage] = []
        var acknowledged: [String: [Int64]] = [:]
        var leftToOthers = 0
        for (parts, text) in ready {
            let firstID = parts.map(\.id).min() ?? parts[0].id
            let ids = parts.flatMap { [$0.id] + (aliases[$0.id] ?? []) }
            guard ids.allSatisfy(claimed.contains) else {
                leftToOthers += 1
                continue
            }
            waitingNoted.withLock { _ = $0.remove(firstID) }
            let id = Self.idPrefix + name + ":" + String(firstID)
            acknowledged[id] = ids
            messages.append(IncomingMessage(
                channel: .sms, feed: name, externalID: id, sender: parts[0].sender.isEmpty ? nil : parts[0].sender,
                text: text, receivedAt: date(parts[0].receivedAt) ?? Date()))
        }
        if leftToOthers > 0 {
            logger.debug("gammu inbox: \(leftToOthers) message(s) taken by another instance meanwhile")
        }
        if messages.isEmpty { await database.releaseClaims() }
        pending.withLock { $0 = acknowledged }
        _ = try? await database.checkSentItems(logger: logger, force: false)
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
        guard !ids.isEmpty else {
            await database.releaseClaims()
            return
        }
        try await database.markProcessed(ids)
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
