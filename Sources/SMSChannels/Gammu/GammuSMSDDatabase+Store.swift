import Foundation
import GRDB
import Logging
import MeterCore

/// The SQLite side of `GammuSMSDStore`. One metergate per SQLite SMSD database (a file on this
/// machine): a claim is the rows as read, nothing is held between poll and acknowledgement.
extension GammuSMSDDatabase {
    public func unprocessed(limit: Int, lookback: Int64) async throws -> (rows: [GammuInboxRow], earlier: [GammuInboxRow]) {
        try await read { db, columns in
            let multipart = columns.isSuperset(of: ["MessageID", "SequencePosition", "PartCount"])
            let extra = multipart ? ", MessageID, SequencePosition, PartCount" : ""
            let rows = try Row.fetchAll(db, sql: """
                SELECT ID, SenderNumber, TextDecoded, ReceivingDateTime, UDH, Text,
                    (julianday('now') - julianday(UpdatedInDB)) * 86400\(extra)
                FROM inbox WHERE Processed = 'false' ORDER BY ID LIMIT ?
                """, arguments: [limit]
            ).map { row in
                // Every column through `Row.value(at:)`: GRDB's typed subscripts trap on a value
                // they cannot convert (`'nan'` or 1e300 in an INTEGER column), and SMSD's
                // database is written by another program (issue 13).
                var inbox = GammuInboxRow(
                    id: row.value(at: 0) ?? 0, sender: row.value(at: 1) ?? "", text: row.value(at: 2) ?? "",
                    receivedAt: row.value(at: 3) ?? "", udh: row.value(at: 4) ?? "", raw: row.value(at: 5) ?? "",
                    age: (row.value(at: 6) as Double?).flatMap { $0.isFinite ? $0 : nil } ?? 0)
                if multipart, let total: Int = row.value(at: 9), (2...255).contains(total), let message: Int64 = row.value(at: 7),
                   let sequence: Int = row.value(at: 8), (1...total).contains(sequence) {
                    inbox.multipart = (message, sequence, total)
                }
                return inbox
            }
            guard let first = rows.first?.id, let last = rows.last?.id else { return ([], []) }
            let earlier = try Row.fetchAll(db, sql: """
                SELECT SenderNumber, ReceivingDateTime, UDH, TextDecoded, Text FROM inbox
                WHERE ID >= ? AND ID < ? AND Processed <> 'false'
                """, arguments: [first - lookback, last]
            ).map { row in
                GammuInboxRow(id: 0, sender: row.value(at: 0) ?? "", text: row.value(at: 3) ?? "", receivedAt: row.value(at: 1) ?? "",
                              udh: row.value(at: 2) ?? "", raw: row.value(at: 4) ?? "", age: 0)
            }
            return (rows, earlier)
        }
    }

    public func claim(_ ids: [Int64]) async throws -> Set<Int64> {
        Set(ids)
    }

    public func markProcessed(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await write { db in
            for chunk in stride(from: 0, to: ids.count, by: 500) {
                let list = ids[chunk..<min(chunk + 500, ids.count)].map(String.init).joined(separator: ",")
                try db.execute(sql: "UPDATE inbox SET Processed = 'true' WHERE ID IN (\(list))")
            }
        }
    }

    public func releaseClaims() async {}

    /// `SendingDateTime` and `SendingTimeOut` are written in local time, as SMSD compares them
    /// with `datetime('now', 'localtime')` (the schema's defaults are UTC, which holds a reply
    /// back for hours west of Greenwich).
    public func handOver(_ replies: [GammuOutboxReply], feed: String) async throws {
        try await write { db in
            try Self.createReplyTable(db)
            for reply in replies {
                // Handed over before (a crash before the ledger noted it): not again.
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM metergate_replies WHERE reply_id = ?", arguments: [reply.replyID]) == true {
                    continue
                }
                try db.execute(sql: """
                    INSERT INTO outbox (DestinationNumber, TextDecoded, Coding, CreatorID, MultiPart,
                        SendingDateTime, SendingTimeOut)
                    VALUES (?, ?, ?, ?, 'false', datetime('now', 'localtime'), datetime('now', 'localtime'))
                    """, arguments: [reply.recipient, reply.text, reply.coding, GammuSMSDTransport.creatorID])
                try db.execute(
                    sql: "INSERT INTO metergate_replies (reply_id, outbox_id, feed) VALUES (?, ?, ?)",
                    arguments: [reply.replyID, db.lastInsertedRowID, feed])
            }
        }
    }

    static func createReplyTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS metergate_replies (
                reply_id INTEGER PRIMARY KEY,
                outbox_id INTEGER NOT NULL,
                feed TEXT NOT NULL DEFAULT '',
                fate TEXT
            );
            CREATE INDEX IF NOT EXISTS metergate_replies_open ON metergate_replies (outbox_id) WHERE fate IS NULL;
            """)
    }

    /// Reads the fate of our replies from `sentitems`: each one SMSD failed to send
    /// (`SendingError`, `Error`, `DeliveryFailed`) is logged once, as an error; the fate is
    /// kept in `metergate_replies.fate`, so a restart does not log it again. Runs at most
    /// every two seconds; a database without our table has nothing to check.
    @discardableResult
    public func checkSentItems(logger: Logger, force: Bool = false) async throws -> [(replyID: Int64, status: String)] {
        guard sentItemsCheckDue(force: force) else { return [] }
        let open = try await read { db, _ -> Bool in
            guard try Bool.fetchOne(
                db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metergate_replies'") == true
            else { return false }
            return try Bool.fetchOne(db, sql: """
                SELECT 1 FROM metergate_replies r JOIN sentitems s ON s.ID = r.outbox_id WHERE r.fate IS NULL LIMIT 1
                """) == true
        }
        guard open else { return [] }
        return try await write { db -> [(replyID: Int64, status: String)] in
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.reply_id, s.ID, s.DestinationNumber, s.Status, s.StatusError
                FROM metergate_replies r JOIN sentitems s ON s.ID = r.outbox_id
                WHERE r.fate IS NULL ORDER BY s.ID, s.SequencePosition
                """)
            let fates = GammuSentItemFate.fates(rows.map { row in
                GammuSentItemFate(replyID: row.value(at: 0) ?? 0, outboxID: row.value(at: 1) ?? 0, number: row.value(at: 2) ?? "",
                                  status: row.value(at: 3) ?? "", statusError: row.value(at: 4) ?? -1)
            })
            for fate in fates {
                try db.execute(sql: "UPDATE metergate_replies SET fate = ? WHERE reply_id = ?", arguments: [fate.status, fate.replyID])
            }
            return GammuSentItemFate.logFailures(fates, logger: logger)
        }
    }

    /// At most every two seconds, unless forced.
    func sentItemsCheckDue(force: Bool) -> Bool {
        let now = Date()
        return sentItemsCheck.withLock { last in
            guard force || now.timeIntervalSince(last) >= 2 else { return false }
            last = now
            return true
        }
    }
}

/// What `sentitems` says of one handed-over reply (one row per part of a multipart reply).
struct GammuSentItemFate {
    var replyID: Int64
    var outboxID: Int64
    var number: String
    var status: String
    var statusError: Int

    /// One fate per reply, in reply order: a multipart reply's worst part decides.
    static func fates(_ rows: [GammuSentItemFate]) -> [GammuSentItemFate] {
        var byReply: [Int64: GammuSentItemFate] = [:]
        for row in rows where byReply[row.replyID] == nil || GammuSMSDDatabase.failed(row.status) {
            byReply[row.replyID] = row
        }
        return byReply.values.sorted { $0.replyID < $1.replyID }
    }

    /// Logs each failure as an error (the number masked) and returns them.
    static func logFailures(_ fates: [GammuSentItemFate], logger: Logger) -> [(replyID: Int64, status: String)] {
        var failures: [(replyID: Int64, status: String)] = []
        for fate in fates where GammuSMSDDatabase.failed(fate.status) {
            failures.append((fate.replyID, fate.status))
            logger.error("reply \(fate.replyID) to \(Contact.mask(fate.number)) failed at gammu-smsd: \(fate.status) (sentitems ID \(fate.outboxID), StatusError \(fate.statusError)); kept there for the operator")
        }
        return failures
    }
}

extension Row {
    /// The value at `index` as `Value`, or nil when it is NULL or cannot be converted: a number
    /// too large for the type, text in a numeric column. GRDB's subscripts trap there.
    func value<Value: DatabaseValueConvertible>(at index: Int) -> Value? {
        Value.fromDatabaseValue(self[index] as DatabaseValue)
    }
}
