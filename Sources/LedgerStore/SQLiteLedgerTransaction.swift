import Foundation
import GRDB

/// `LedgerTransaction` over one GRDB `Database` inside `write {}`; statements are cached.
struct SQLiteLedgerTransaction: LedgerTransaction {
    let db: Database

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM message WHERE channel = ? AND external_id = ?")
        return try Int.fetchOne(statement, arguments: [channel, externalID]) != nil
    }

    func countMessages(sender: String, since: Date) throws -> Int {
        let statement = try db.cachedStatement(
            sql: "SELECT COUNT(*) FROM message WHERE sender = ? AND received_at >= ?")
        return try Int.fetchOne(statement, arguments: [sender, since.timeIntervalSince1970]) ?? 0
    }

    func account(uin: String) throws -> Account? {
        let statement = try db.cachedStatement(
            sql: "SELECT meters, previous, digits, phones, emails FROM account WHERE uin = ?")
        guard let row = try Row.fetchOne(statement, arguments: [uin]) else { return nil }
        return Account(
            uin: uin,
            meters: SQLiteLedger.split(row[0]),
            previous: SQLiteLedger.splitOptional(row[1]),
            digits: row[2],
            phones: SQLiteLedger.split(row[3]),
            emails: SQLiteLedger.split(row[4]))
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        let statement = try db.cachedStatement(
            sql: "SELECT meters, vals FROM submission WHERE uin = ? AND status = 'accepted' ORDER BY id DESC LIMIT 1")
        guard let row = try Row.fetchOne(statement, arguments: [uin]) else { return [:] }
        let meters = SQLiteLedger.split(row[0])
        let values = SQLiteLedger.split(row[1])
        var latest: [String: String] = [:]
        for (meter, value) in zip(meters, values) { latest[meter] = value }
        return latest
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        let statement = try db.cachedStatement(sql: """
            SELECT 1 FROM submission
            WHERE uin = ? AND status IN ('accepted', 'held') AND period = ? AND vals = ? LIMIT 1
            """)
        return try Int.fetchOne(statement, arguments: [uin, period, SQLiteLedger.joined(values)]) != nil
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO message (channel, external_id, feed, sender, received_at, received_at_text,
                                 subject, text, raw, status, reason, outcome, reply, processed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [
            message.channel, message.externalID, message.feed, message.sender,
            message.receivedAt.timeIntervalSince1970, Timestamp.iso8601(message.receivedAt),
            message.subject, message.text, message.raw.map { Data($0) },
            message.status, message.reason, message.outcomeJSON, message.reply,
            Date().timeIntervalSince1970,
        ])
        return db.lastInsertedRowID
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO submission (message_id, uin, period, status, reason, meters, vals, previous,
                                    channel, sender, received_at, received_at_text)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [
            submission.messageID, submission.uin, submission.period, submission.status, submission.reason,
            SQLiteLedger.joined(submission.meters), SQLiteLedger.joined(submission.values),
            SQLiteLedger.joined(submission.previous), channel, sender,
            receivedAt.timeIntervalSince1970, Timestamp.iso8601(receivedAt),
        ])
        return db.lastInsertedRowID
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO outbox (message_id, channel, recipient, subject, in_reply_to, refs, body, state,
                                next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let now = Date().timeIntervalSince1970
        try statement.execute(arguments: [
            reply.messageID, reply.channel, reply.recipient, reply.subject, reply.inReplyTo,
            reply.references.joined(separator: " "), reply.body, reply.state.rawValue, now, now,
        ])
        return db.lastInsertedRowID
    }
}
