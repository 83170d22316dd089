import Foundation
import GRDB
import Ledger

extension SQLiteLedger {
    /// Held submissions not yet decided, oldest first.
    public func heldSubmissions() async throws -> [HeldSubmission] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.id, s.uin, s.meters, s.vals, s.previous, s.channel, s.sender, s.received_at_text,
                       COALESCE(m.subject || ' | ', '') || COALESCE(m.text, ''), m.id, s.reason
                FROM submission s JOIN message m ON m.id = s.message_id
                WHERE s.status = 'held' AND s.reviewed_at IS NULL AND s.superseded_by IS NULL ORDER BY s.id
                """).map(Self.held)
        }
    }

    /// Approves (the held readings become accepted) or rejects a held submission, and
    /// queues the reply `makeReply` returns, in one transaction.
    @discardableResult
    public func decide(
        submission id: Int64, _ decision: ReviewDecision,
        makeReply: @escaping @Sendable (HeldSubmission) -> NewReply?
    ) async throws -> HeldSubmission {
        let statements = self.statements
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.id, s.uin, s.meters, s.vals, s.previous, s.channel, s.sender, s.received_at_text,
                       COALESCE(m.subject || ' | ', '') || COALESCE(m.text, ''), m.id, s.reason, s.period
                FROM submission s JOIN message m ON m.id = s.message_id
                WHERE s.id = ? AND s.status = 'held' AND s.reviewed_at IS NULL AND s.superseded_by IS NULL
                """, arguments: [id])
            else {
                throw LedgerError(.notFound, "no held reading with id \(id) waits for review")
            }
            let held = Self.held(row)
            try db.execute(sql: """
                UPDATE submission SET status = ?, reason = ?, reviewed_at = ?, review_decision = ? WHERE id = ?
                """, arguments: [
                    decision == .approve ? "accepted" : "rejected",
                    decision == .approve ? nil : "operator", Date().timeIntervalSince1970, decision.rawValue, id,
                ])
            let transaction = SQLiteLedgerTransaction(db: db, statements: statements)
            if decision == .approve {
                // The approved reading is the one that counts in its period now.
                try transaction.supersede(uin: held.uin, period: row[11], by: id)
            }
            if let reply = makeReply(held) {
                _ = try transaction.enqueueReply(reply)
            }
            return held
        }
    }

    private static func held(_ row: Row) -> HeldSubmission {
        HeldSubmission(
            id: row[0], uin: row[1], meters: split(row[2]), values: split(row[3]), previous: splitOptional(row[4]),
            channel: row[5], sender: row[6], receivedAt: row[7], text: row[8], messageID: row[9], reason: row[10])
    }
}
