import Foundation
import GRDB
import Ledger

/// The support desk's look-ups: messages by sender (`message_by_sender`), by account
/// (`message_uin`), by time (`message_by_received`), their replies (`outbox_by_message`).
extension SQLiteLedger {
    static let messageColumns = """
        m.id, m.channel, m.external_id, m.feed, m.sender, m.received_at, m.subject, m.text, m.status, m.reason, m.outcome, m.reply
        """

    public func messages(matching query: MessageQuery) async throws -> [MessageRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            var from = "message m"
            if let uin = query.uin {
                // A message's UINs with a submission are found through the submission (they take
                // no `message_uin` row since `NewMessage.submittedUINs`); the others, and every
                // UIN of a message recorded before, through `message_uin`.
                from = """
                    (SELECT message_id FROM message_uin WHERE uin = ?
                     UNION SELECT message_id FROM submission WHERE uin = ?) AS u
                    JOIN message m ON m.id = u.message_id
                    """
                arguments.append(uin)
                arguments.append(uin)
            }
            if let sender = query.sender {
                conditions.append("m.sender = ?")
                arguments.append(sender)
            }
            if let since = query.since {
                conditions.append("m.received_at >= ?")
                arguments.append(since.timeIntervalSince1970)
            }
            if let until = query.until {
                conditions.append("m.received_at < ?")
                arguments.append(until.timeIntervalSince1970)
            }
            if let status = query.status {
                conditions.append("m.status = ?")
                arguments.append(status)
            }
            if let before = query.beforeID {
                conditions.append("m.id < ?")
                arguments.append(before)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Self.messageColumns) FROM \(from) \(whereClause)
                ORDER BY m.received_at DESC, m.id DESC LIMIT ?
                """, arguments: StatementArguments(arguments + [max(0, query.limit)]))
            return try rows.map { try Self.messageRecord($0, db) }
        }
    }

    public func message(id: Int64) async throws -> MessageRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.messageColumns) FROM message m WHERE m.id = ?", arguments: [id])
                .map { try Self.messageRecord($0, db) }
        }
    }

    public func rawMessage(id: Int64) async throws -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT raw FROM message WHERE id = ?", arguments: [id]).map { [UInt8]($0) }
        }
    }

    public func submissions(uin: String, limit: Int) async throws -> [AccountSubmission] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, message_id, period, status, reason, meters, vals, channel, received_at, superseded_by
                FROM submission WHERE uin = ? ORDER BY id DESC LIMIT ?
                """, arguments: [uin, max(0, limit)]).map { row in
                AccountSubmission(
                    id: row[0], messageID: row[1], period: row[2], status: row[3], reason: row[4], meters: Self.split(row[5]),
                    values: Self.split(row[6]), channel: row[7], receivedAt: Date(timeIntervalSince1970: row[8]),
                    superseded: (row[9] as Int64?) != nil)
            }
        }
    }

    public func submissionsPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        try await dailyCounts(
            sql: "SELECT CAST((received_at + ?) / 86400 AS INTEGER) AS day, channel, COUNT(*) FROM submission WHERE received_at >= ? GROUP BY day, channel",
            since: date, utcOffset: utcOffset, reasons: false)
    }

    public func messagesPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        try await dailyCounts(
            sql: "SELECT CAST((received_at + ?) / 86400 AS INTEGER) AS day, status, COUNT(*), reason FROM message WHERE received_at >= ? GROUP BY day, status, reason",
            since: date, utcOffset: utcOffset, reasons: true)
    }

    private func dailyCounts(sql: String, since date: Date, utcOffset: Int, reasons: Bool) async throws -> [DailyCount] {
        try await read { db in
            var counts: [DailyCount] = []
            for row in try Row.fetchAll(db, sql: sql, arguments: [utcOffset, date.timeIntervalSince1970]) {
                let day: Int = row[0]
                let key: String = row[1]
                let count: Int = row[2]
                counts.append(DailyCount(day: day, key: key, count: count))
                if reasons, let reason: String = row[3] { counts.append(DailyCount(day: day, key: key + ":" + reason, count: count)) }
            }
            return counts
        }
    }

    static func messageRecord(_ row: Row, _ db: Database) throws -> MessageRecord {
        let id: Int64 = row[0]
        let replies = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, channel, recipient, body, state, attempts, last_error, created_at, sent_at, data_sent_at
            FROM outbox WHERE message_id = ? ORDER BY id
            """), arguments: [id]).map { reply in
            ReplyRecord(
                id: reply[0], channel: reply[1], recipient: reply[2], body: reply[3], state: reply[4], attempts: reply[5],
                lastError: reply[6], createdAt: Date(timeIntervalSince1970: reply[7]),
                sentAt: (reply[8] as Double?).map(Date.init(timeIntervalSince1970:)),
                dataSentAt: (reply[9] as Double?).map(Date.init(timeIntervalSince1970:)))
        }
        return MessageRecord(
            id: id, channel: row[1], externalID: row[2], feed: row[3], sender: row[4], receivedAt: Date(timeIntervalSince1970: row[5]),
            subject: row[6], text: row[7], status: row[8], reason: row[9], outcomeJSON: row[10], reply: row[11], replies: replies)
    }
}
