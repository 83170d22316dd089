import Foundation
import Ledger
import PostgreSQL

/// Feed cursors and poll results: in the store, so the instance that takes a feed over resumes
/// where the last holder stopped.
extension PostgresLedger: FeedStateStore {
    public func cursor(feed: String) async throws -> String? {
        try await read { link in
            let rows = try link.query("SELECT cursor FROM feed WHERE name = $1", [.text(feed)])
            return rows.count > 0 ? rows.text(0, 0) : nil
        }
    }

    public func saveCursor(_ cursor: String, feed: String) async throws {
        try await onOutbox { link in
            _ = try link.query("""
                INSERT INTO feed (name, cursor) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor
                """, [.text(feed), .text(cursor)])
        }
    }

    public func recordPoll(feed: String, error: String?, at date: Date) async throws {
        try await onOutbox { link in
            if let error {
                _ = try link.query("""
                    INSERT INTO feed (name, last_poll_at, last_error, last_error_at, consecutive_failures)
                    VALUES ($1, $2, $3, $2, 1)
                    ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                        last_error = excluded.last_error, last_error_at = excluded.last_error_at,
                        consecutive_failures = feed.consecutive_failures + 1
                    """, [.text(feed), .of(date), .text(error)])
            } else {
                _ = try link.query("""
                    INSERT INTO feed (name, last_poll_at, last_success_at, consecutive_failures) VALUES ($1, $2, $2, 0)
                    ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                        last_success_at = excluded.last_success_at, consecutive_failures = 0
                    """, [.text(feed), .of(date)])
            }
        }
    }

    public func feedStates() async throws -> [FeedState] {
        try await read { link in
            let rows = try link.query("""
                SELECT name, last_poll_at, last_success_at, last_error, last_error_at, consecutive_failures
                FROM feed ORDER BY name COLLATE "C"
                """)
            return (0..<rows.count).map { row in
                FeedState(
                    feed: rows.string(row, 0), lastPollAt: Self.date(rows.double(row, 1)), lastSuccessAt: Self.date(rows.double(row, 2)),
                    lastError: rows.text(row, 3), lastErrorAt: Self.date(rows.double(row, 4)),
                    consecutiveFailures: Int(rows.int(row, 5) ?? 0))
            }
        }
    }

    public func knownExternalIDs(channel: String, _ externalIDs: [String]) async throws -> Set<String> {
        guard !externalIDs.isEmpty else { return [] }
        return try await read { link in
            let rows = try link.query(
                "SELECT external_id FROM message WHERE channel = $1 AND external_id = ANY($2::text[])",
                [.text(channel), .text(Self.textArray(externalIDs))])
            return Set((0..<rows.count).map { rows.string($0, 0) })
        }
    }

    /// Through a cursor, a hundred messages at a time: a mailbox of a million keeps memory flat.
    public func forEachRawMessage(feed: String, channel: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async throws {
        try await read { link in
            try link.transaction {
                try link.query("""
                    DECLARE raws NO SCROLL CURSOR FOR
                    SELECT raw FROM message WHERE channel = $1 AND feed = $2 AND raw IS NOT NULL ORDER BY id
                    """, [.text(channel), .text(feed)])
                while true {
                    let rows = try link.query("FETCH 100 FROM raws", binaryResult: true)
                    if rows.count == 0 { break }
                    for row in 0..<rows.count { try body(rows.bytes(row, 0) ?? []) }
                }
                try link.exec("CLOSE raws")
            }
        }
    }

    /// A PostgreSQL array literal of texts, every element quoted (passed as one parameter):
    /// built byte by byte (a batch's array holds tens of thousands of elements).
    static func textArray(_ values: [String]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 16 + 2)
        bytes.append(0x7B)  // {
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(0x2C) }  // ,
            bytes.append(0x22)  // "
            for byte in value.utf8 {
                // A backslash or a double quote is escaped with a backslash.
                if byte == 0x5C || byte == 0x22 { bytes.append(0x5C) }
                bytes.append(byte)
            }
            bytes.append(0x22)
        }
        bytes.append(0x7D)  // }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension PostgresLedger: OperatorViews {
    public func outboxCounts() async throws -> [String: Int] {
        try await read { link in
            let rows = try link.query("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            var counts: [String: Int] = [:]
            for row in 0..<rows.count { counts[rows.string(row, 0)] = Int(rows.int(row, 1) ?? 0) }
            return counts
        }
    }

    public func oldestDueReply(now: Date) async throws -> Date? {
        try await read { link in
            Self.date(try link.query(
                "SELECT MIN(created_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1", [.of(now)]).double(0, 0))
        }
    }

    public func heldCount() async throws -> Int {
        try await read { link in
            Int(try link.query("SELECT COUNT(*) FROM submission WHERE status = 'held' AND superseded_by IS NULL").int(0, 0) ?? 0)
        }
    }

    static let heldColumns = """
        SELECT s.id, s.uin, s.meters, s.vals, s.previous, s.channel, s.sender, s.received_at_text,
               COALESCE(m.subject || ' | ', '') || COALESCE(m.text, ''), m.id, s.reason, s.period
        FROM submission s JOIN message m ON m.id = s.message_id
        """

    static func held(_ rows: PostgresResult, _ row: Int) -> HeldSubmission {
        HeldSubmission(
            id: rows.int(row, 0) ?? 0, uin: rows.string(row, 1), meters: split(rows.string(row, 2)), values: split(rows.string(row, 3)),
            previous: splitOptional(rows.string(row, 4)), channel: rows.string(row, 5), sender: rows.text(row, 6),
            receivedAt: rows.string(row, 7), text: rows.string(row, 8), messageID: rows.int(row, 9) ?? 0,
            reason: rows.text(row, 10))
    }

    public func heldSubmissions() async throws -> [HeldSubmission] {
        try await read { link in
            let rows = try link.query(Self.heldColumns + " WHERE s.status = 'held' AND s.reviewed_at IS NULL AND s.superseded_by IS NULL ORDER BY s.id")
            return (0..<rows.count).map { Self.held(rows, $0) }
        }
    }

    public func decide(
        submission id: Int64, _ decision: ReviewDecision, makeReply: @escaping @Sendable (HeldSubmission) -> NewReply?
    ) async throws -> HeldSubmission {
        do {
            return try await writer.run { link in
                try link.transaction {
                    // FOR UPDATE: two operators deciding the same reading at once decide it once.
                    let rows = try link.query(
                        Self.heldColumns + " WHERE s.id = $1 AND s.status = 'held' AND s.reviewed_at IS NULL AND s.superseded_by IS NULL FOR UPDATE OF s", [.of(id)])
                    guard rows.count > 0 else { throw LedgerError(.notFound, "no held reading with id \(id) waits for review") }
                    let held = Self.held(rows, 0)
                    try link.query("""
                        UPDATE submission SET status = $1, reason = $2, reviewed_at = $3, review_decision = $4 WHERE id = $5
                        """, [
                            .text(decision == .approve ? "accepted" : "rejected"), .of(decision == .approve ? nil : "operator"),
                            .of(Date()), .text(decision.rawValue), .of(id),
                        ])
                    if decision == .approve {
                        // The approved reading is the one that counts in its period now.
                        try PostgresLedgerTransaction(link: link, instance: "").supersede(uin: held.uin, period: rows.string(0, 11), by: id)
                    }
                    if let reply = makeReply(held) { _ = try PostgresLedgerTransaction.enqueue(reply, link: link) }
                    return held
                }
            }
        } catch let error as PostgresError {
            throw LedgerError(.write, "the store \(url) refused the review decision", underlying: error)
        }
    }

    public func messageCountsByReason(since date: Date) async throws -> [String: Int] {
        try await read { link in
            let rows = try link.query(
                "SELECT status, reason, COUNT(*) FROM message WHERE processed_at >= $1 GROUP BY status, reason", [.of(date)])
            var counts: [String: Int] = [:]
            for row in 0..<rows.count {
                let count = Int(rows.int(row, 2) ?? 0)
                counts[rows.string(row, 0), default: 0] += count
                if let reason = rows.text(row, 1) { counts[rows.string(row, 0) + ":" + reason, default: 0] += count }
            }
            return counts
        }
    }

    public func rateLimitedSenders(since date: Date) async throws -> Int {
        try await read { link in
            Int(try link.query("""
                SELECT COUNT(DISTINCT sender) FROM message
                WHERE processed_at >= $1 AND status = 'ignored' AND reason = 'rate_limited'
                """, [.of(date)]).int(0, 0) ?? 0)
        }
    }

    public func messageStatus(channel: String, externalID: String) async throws -> (status: String, reason: String?)? {
        try await read { link in
            let rows = try link.query("SELECT status, reason FROM message WHERE channel = $1 AND external_id = $2",
                                      [.text(channel), .text(externalID)])
            return rows.count > 0 ? (rows.string(0, 0), rows.text(0, 1)) : nil
        }
    }
}
