import Foundation
import GRDB
import Logging
import MeterCore

/// Sends SMS replies through Gammu SMSD: one row in `outbox` per reply (`CreatorID =
/// 'metergate'`, `MultiPart = 'false'`, `Coding` `Default_No_Compression` for GSM-7 text,
/// `Unicode_No_Compression` otherwise), inserted together with a row in our own table
/// `metergate_replies (reply_id, outbox_id, fate)` in the same SMSD transaction — so a reply
/// handed over before a crash is never handed over again — and followed up in `sentitems`
/// (see `GammuSMSDDatabase.checkSentItems`).
///
/// `SendingDateTime` and `SendingTimeOut` are written in local time, as SMSD compares them
/// with `datetime('now', 'localtime')` (the schema's defaults are UTC, which holds a reply
/// back for hours west of Greenwich).
public struct GammuSMSDTransport: ReplyTransport {
    public let name: String
    public let database: GammuSMSDDatabase
    public static let creatorID = "metergate"
    private let logger: Logger

    public init(name: String, database: GammuSMSDDatabase, logger: Logger = Logger(label: "metergate.sms.gammu")) {
        self.name = name
        self.database = database
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
    }

    public func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        let recipient = Contact.normalizePhone(reply.recipient)
        guard Contact.isReplyablePhone(recipient) else {
            return .failed(reason: "\(Contact.mask(recipient)) is not a phone number SMSD can send to")
        }
        let coding = SMSText.coding(of: reply.body) == .gsm7 ? "Default_No_Compression" : "Unicode_No_Compression"
        do {
            try database.write { db in
                try GammuSMSDDatabase.createReplyTable(db)
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM metergate_replies WHERE reply_id = ?", arguments: [reply.id]) == true {
                    return
                }
                try db.execute(sql: """
                    INSERT INTO outbox (DestinationNumber, TextDecoded, Coding, CreatorID, MultiPart,
                        SendingDateTime, SendingTimeOut)
                    VALUES (?, ?, ?, ?, 'false', datetime('now', 'localtime'), datetime('now', 'localtime'))
                    """, arguments: [recipient, reply.body, coding, Self.creatorID])
                try db.execute(
                    sql: "INSERT INTO metergate_replies (reply_id, outbox_id, feed) VALUES (?, ?, ?)",
                    arguments: [reply.id, db.lastInsertedRowID, name])
            }
        } catch {
            return .retry(reason: "\(error)")
        }
        _ = try? database.checkSentItems(logger: logger)
        return .delivered
    }
}

extension GammuSMSDDatabase {
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
    public func checkSentItems(logger: Logger, force: Bool = false) throws -> [(replyID: Int64, status: String)] {
        let now = Date()
        let due = sentItemsCheck.withLock { last in
            guard force || now.timeIntervalSince(last) >= 2 else { return false }
            last = now
            return true
        }
        guard due else { return [] }
        return try write { db -> [(replyID: Int64, status: String)] in
            guard try Bool.fetchOne(
                db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metergate_replies'") == true
            else { return [] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.reply_id, s.ID, s.DestinationNumber, s.Status, s.StatusError
                FROM metergate_replies r JOIN sentitems s ON s.ID = r.outbox_id
                WHERE r.fate IS NULL ORDER BY s.ID, s.SequencePosition
                """)
            var fates: [Int64: (status: String, outbox: Int64, number: String, code: Int)] = [:]
            for row in rows {
                let replyID: Int64 = row[0]
                let status: String = row[3]
                // A multipart reply's worst part decides.
                if fates[replyID] == nil || Self.failed(status) {
                    fates[replyID] = (status, row[1], row[2] ?? "", row[4] ?? -1)
                }
            }
            var failures: [(replyID: Int64, status: String)] = []
            for (replyID, fate) in fates.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "UPDATE metergate_replies SET fate = ? WHERE reply_id = ?", arguments: [fate.status, replyID])
                if Self.failed(fate.status) {
                    failures.append((replyID, fate.status))
                    logger.error("reply \(replyID) to \(Contact.mask(fate.number)) failed at gammu-smsd: \(fate.status) (sentitems ID \(fate.outbox), StatusError \(fate.code)); kept there for the operator")
                }
            }
            return failures
        }
    }

    static func failed(_ status: String) -> Bool {
        status == "SendingError" || status == "Error" || status == "DeliveryFailed"
    }
}
