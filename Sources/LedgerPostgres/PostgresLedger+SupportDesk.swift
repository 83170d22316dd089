import Foundation
import Ledger
import PostgreSQL

/// The support desk's look-ups, as in the SQLite ledger: messages by sender
/// (`message_by_sender`), by account (`message_uin`), by time (`message_by_received`), and
/// their replies (`outbox_by_message`).
extension PostgresLedger {
    static let messageColumns = """
        m.id, m.channel, m.external_id, m.feed, m.sender, m.received_at, m.subject, m.text, m.status, m.reason, m.outcome, m.reply
        """

    public func messages(matching query: MessageQuery) async throws -> [MessageRecord] {
        try await read { link in
            var conditions: [String] = []
            var arguments: [PostgresValue] = []
            func add(_ condition: String, _ value: PostgresValue) {
                arguments.append(value)
                conditions.append(condition.replacingOccurrences(of: "?", with: "$\(arguments.count)"))
            }
            var from = "message m"
            if let uin = query.uin {
                from = "message_uin u JOIN message m ON m.id = u.message_id"
                add("u.uin = ?", .text(uin))
            }
            if let sender = query.sender { add("m.sender = ?", .text(sender)) }
            if let since = query.since { add("m.received_at >= ?", .of(since)) }
            if let until = query.until { add("m.received_at < ?", .of(until)) }
            if let status = query.status { add("m.status = ?", .text(status)) }
            if let before = query.beforeID { add("m.id < ?", .of(before)) }
            arguments.append(.of(max(0, query.limit)))
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try link.query("""
                SELECT \(Self.messageColumns) FROM \(from) \(whereClause)
                ORDER BY m.received_at DESC, m.id DESC LIMIT $\(arguments.count)
                """, arguments)
            return try (0..<rows.count).map { try Self.messageRecord(rows, $0, link) }
        }
    }

    public func message(id: Int64) async throws -> MessageRecord? {
        try await read { link in
            let rows = try link.query("SELECT \(Self.messageColumns) FROM message m WHERE m.id = $1", [.of(id)])
            return rows.count > 0 ? try Self.messageRecord(rows, 0, link) : nil
        }
    }

    public func rawMessage(id: Int64) async throws -> [UInt8]? {
        try await read { link in
            let rows = try link.query("SELECT raw FROM message WHERE id = $1", [.of(id)], binaryResult: true)
            return rows.count > 0 ? rows.bytes(0, 0) : nil
        }
    }

    public func submissions(uin: String, limit: Int) async throws -> [AccountSubmission] {
        try await read { link in
            let rows = try link.query("""
                SELECT id, message_id, period, status, reason, meters, vals, channel, received_at, superseded_by
                FROM submission WHERE uin = $1 ORDER BY id DESC LIMIT $2
                """, [.text(uin), .of(max(0, limit))])
            return (0..<rows.count).map { row in
                AccountSubmission(
                    id: rows.int(row, 0) ?? 0, messageID: rows.int(row, 1) ?? 0, period: rows.string(row, 2),
                    status: rows.string(row, 3), reason: rows.text(row, 4), meters: Self.split(rows.string(row, 5)),
                    values: Self.split(rows.string(row, 6)), channel: rows.string(row, 7),
                    receivedAt: Date(timeIntervalSince1970: rows.double(row, 8) ?? 0), superseded: rows.text(row, 9) != nil)
            }
        }
    }

    public func submissionsPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        try await read { link in
            let rows = try link.query("""
                SELECT floor((received_at + $1) / 86400)::bigint AS day, channel, COUNT(*)
                FROM submission WHERE received_at >= $2 GROUP BY day, channel
                """, [.of(utcOffset), .of(date)])
            return (0..<rows.count).map {
                DailyCount(day: Int(rows.int($0, 0) ?? 0), key: rows.string($0, 1), count: Int(rows.int($0, 2) ?? 0))
            }
        }
    }

    public func messagesPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        try await read { link in
            let rows = try link.query("""
                SELECT floor((received_at + $1) / 86400)::bigint AS day, status, COUNT(*), reason
                FROM message WHERE received_at >= $2 GROUP BY day, status, reason
                """, [.of(utcOffset), .of(date)])
            var counts: [DailyCount] = []
            for row in 0..<rows.count {
                let day = Int(rows.int(row, 0) ?? 0)
                let status = rows.string(row, 1)
                let count = Int(rows.int(row, 2) ?? 0)
                counts.append(DailyCount(day: day, key: status, count: count))
                if let reason = rows.text(row, 3) { counts.append(DailyCount(day: day, key: status + ":" + reason, count: count)) }
            }
            return counts
        }
    }

    static func messageRecord(_ rows: PostgresResult, _ row: Int, _ link: PostgresLink) throws -> MessageRecord {
        let id = rows.int(row, 0) ?? 0
        let replies = try link.query("""
            SELECT id, channel, recipient, body, state, attempts, last_error, created_at, sent_at, data_sent_at
            FROM outbox WHERE message_id = $1 ORDER BY id
            """, [.of(id)])
        return MessageRecord(
            id: id, channel: rows.string(row, 1), externalID: rows.string(row, 2), feed: rows.string(row, 3),
            sender: rows.text(row, 4), receivedAt: Date(timeIntervalSince1970: rows.double(row, 5) ?? 0), subject: rows.text(row, 6),
            text: rows.text(row, 7), status: rows.string(row, 8), reason: rows.text(row, 9), outcomeJSON: rows.string(row, 10),
            reply: rows.text(row, 11),
            replies: (0..<replies.count).map { reply in
                ReplyRecord(
                    id: replies.int(reply, 0) ?? 0, channel: replies.string(reply, 1), recipient: replies.string(reply, 2),
                    body: replies.string(reply, 3), state: replies.string(reply, 4), attempts: Int(replies.int(reply, 5) ?? 0),
                    lastError: replies.text(reply, 6), createdAt: Date(timeIntervalSince1970: replies.double(reply, 7) ?? 0),
                    sentAt: date(replies.double(reply, 8)), dataSentAt: date(replies.double(reply, 9)))
            })
    }
}
