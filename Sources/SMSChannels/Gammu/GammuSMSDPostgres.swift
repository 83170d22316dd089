import Foundation
import Logging
import PostgreSQL
import Synchronization

/// Gammu SMSD's PostgreSQL database (`service = sql`, `driver = native_pgsql`, schema
/// `examples/pgsql.sql`: quoted mixed-case identifiers, `"Processed"` a boolean, timestamps
/// without time zone in the server's local time, `"ID"` serial).
///
/// Several metergate instances may poll one such database. A poll claims the rows of the
/// messages it returns with `SELECT … FOR UPDATE SKIP LOCKED` in a transaction that stays
/// open until the acknowledgement marks them processed and commits: another instance skips
/// rows that are claimed, so two never take the same row. When an instance dies (or hangs
/// longer than `claimTimeout`) its connection ends, the server rolls the transaction back,
/// and the rows it held are unprocessed again for whoever polls next — if the dead instance
/// had already recorded them in its ledger, that instance knows them again on restart (by
/// their external id), but another instance polling first records them a second time in its
/// own ledger: at-least-once across instances, never lost.
///
/// Replies are keyed by (`instance`, ledger outbox id) in `metergate_replies`, since each
/// instance numbers its replies in its own ledger.
public final class GammuSMSDPostgres: GammuSMSDStore {
    public let url: PostgresURL
    /// Who hands replies over: stable across restarts, distinct per ledger (host and ledger path).
    public let instance: String
    /// How long a claim may stay open before the server ends it (`idle_in_transaction_session_timeout`).
    public let claimTimeout: Duration
    public var label: String { url.description }
    private let connection: PostgresConnection
    private let prepared = Mutex(false)
    private let sentItemsCheck = Mutex<Date>(.distantPast)

    /// `password` (from the feed's secret) replaces the URL's own when given.
    public init(url: PostgresURL, password: String? = nil, instance: String, claimTimeout: Duration = .seconds(300),
                label: String = "gammu") {
        self.url = url
        self.instance = instance
        self.claimTimeout = claimTimeout
        connection = PostgresConnection(url: url, password: password, label: label)
    }

    /// True when `database` (the feed's `database:`) names a PostgreSQL database, not a file.
    public static func isURL(_ database: String) -> Bool {
        PostgresURL.isPostgresURL(database)
    }

    /// `postgres://…` or `postgresql://…` from the configuration.
    public convenience init(_ text: String, password: String? = nil, instance: String, label: String = "gammu") throws {
        do {
            self.init(url: try PostgresURL(parsing: text), password: password, instance: instance, label: label)
        } catch {
            throw GammuSMSDError(database: "postgresql://…", message: error.description, cause: error)
        }
    }

    public func unprocessed(limit: Int, lookback: Int64) async throws -> (rows: [GammuInboxRow], earlier: [GammuInboxRow]) {
        try await session { session in
            if session.inTransaction { try session.execute("ROLLBACK") }
            let result = try session.query("""
                SELECT "ID", "SenderNumber", "TextDecoded", to_char("ReceivingDateTime", 'YYYY-MM-DD HH24:MI:SS'), "UDH", "Text",
                    EXTRACT(EPOCH FROM (LOCALTIMESTAMP - "UpdatedInDB"))
                FROM inbox WHERE "Processed" = false ORDER BY "ID" LIMIT $1
                """, [String(limit)])
            var rows: [GammuInboxRow] = []
            for index in 0..<result.count {
                rows.append(GammuInboxRow(
                    id: try result.int64(index, 0) ?? 0, sender: result[index, 1] ?? "", text: result[index, 2] ?? "",
                    receivedAt: result[index, 3] ?? "", udh: result[index, 4] ?? "", raw: result[index, 5] ?? "",
                    age: try result.double(index, 6) ?? 0))
            }
            guard let first = rows.first?.id, let last = rows.last?.id else { return ([], []) }
            let processed = try session.query("""
                SELECT "SenderNumber", to_char("ReceivingDateTime", 'YYYY-MM-DD HH24:MI:SS'), "UDH", "TextDecoded", "Text"
                FROM inbox WHERE "ID" >= $1 AND "ID" < $2 AND "Processed" = true
                """, [String(first - lookback), String(last)])
            let earlier = (0..<processed.count).map { index in
                GammuInboxRow(id: 0, sender: processed[index, 0] ?? "", text: processed[index, 3] ?? "",
                              receivedAt: processed[index, 1] ?? "", udh: processed[index, 2] ?? "",
                              raw: processed[index, 4] ?? "", age: 0)
            }
            return (rows, earlier)
        }
    }

    public func claim(_ ids: [Int64]) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let timeout = Int(claimTimeout.components.seconds) * 1000
        return try await session { session in
            if !session.inTransaction {
                try session.execute("BEGIN")
                try session.execute("SET LOCAL idle_in_transaction_session_timeout = \(max(timeout, 1000))")
            }
            let result = try session.query("""
                SELECT "ID" FROM inbox WHERE "ID" = ANY($1::integer[]) AND "Processed" = false FOR UPDATE SKIP LOCKED
                """, [Self.array(ids)])
            var claimed = Set<Int64>()
            for index in 0..<result.count {
                if let id = try result.int64(index, 0) { claimed.insert(id) }
            }
            return claimed
        }
    }

    public func markProcessed(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await session { session in
            try session.execute(#"UPDATE inbox SET "Processed" = true WHERE "ID" = ANY($1::integer[])"#, [Self.array(ids)])
            if session.inTransaction { try session.execute("COMMIT") }
        }
    }

    public func releaseClaims() async {
        _ = try? await connection.withSession { session in
            if session.inTransaction { try session.execute("ROLLBACK") }
        }
    }

    public func handOver(_ replies: [GammuOutboxReply], feed: String) async throws {
        let instance = instance
        try await session { session in
            guard !session.inTransaction else {
                throw PostgresError(code: .unexpectedResult, message: "a claim is open on the connection meant for replies")
            }
            try self.prepare(session)
            // One statement for the whole batch (each round trip costs a context switch to the
            // server): outbox IDs drawn from its sequence first, so each reply row knows its ID;
            // replies noted before (handed over before a crash) are left out.
            try session.execute("""
                WITH input AS (
                    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS i(reply_id, number, body, coding)),
                fresh AS (
                    SELECT i.*, nextval(pg_get_serial_sequence('outbox', 'ID')) AS outbox_id FROM input i
                    WHERE NOT EXISTS (SELECT 1 FROM metergate_replies r WHERE r.instance = $5 AND r.reply_id = i.reply_id)),
                handed AS (
                    INSERT INTO outbox ("ID", "DestinationNumber", "TextDecoded", "Coding", "CreatorID", "MultiPart")
                    SELECT outbox_id, number, body, coding, $6, false FROM fresh ORDER BY outbox_id)
                INSERT INTO metergate_replies (instance, reply_id, outbox_id, feed) SELECT $5, reply_id, outbox_id, $7 FROM fresh
                """, [Self.array(replies.map(\.replyID)), Self.textArray(replies.map(\.recipient)), Self.textArray(replies.map(\.text)),
                      Self.textArray(replies.map(\.coding)), instance, GammuSMSDTransport.creatorID, feed])
        }
    }

    /// Reads the fate of this instance's replies from `sentitems` (at most every two seconds
    /// unless forced): each failure logged once, as an error; the fate kept in
    /// `metergate_replies.fate`, so a restart does not log it again.
    @discardableResult
    public func checkSentItems(logger: Logger, force: Bool = false) async throws -> [(replyID: Int64, status: String)] {
        let now = Date()
        let due = sentItemsCheck.withLock { last in
            guard force || now.timeIntervalSince(last) >= 2 else { return false }
            last = now
            return true
        }
        guard due else { return [] }
        let instance = instance
        let fates = try await session { session -> [GammuSentItemFate] in
            // A claim is open on this connection (the source's, between poll and acknowledgement): later.
            guard !session.inTransaction else { return [] }
            try self.prepare(session)
            return try session.transaction {
                let result = try session.query("""
                    SELECT r.reply_id, s."ID", s."DestinationNumber", s."Status", s."StatusError"
                    FROM metergate_replies r JOIN sentitems s ON s."ID" = r.outbox_id
                    WHERE r.instance = $1 AND r.fate IS NULL ORDER BY s."ID", s."SequencePosition"
                    FOR UPDATE OF r
                    """, [instance])
                var rows: [GammuSentItemFate] = []
                for index in 0..<result.count {
                    rows.append(GammuSentItemFate(
                        replyID: try result.int64(index, 0) ?? 0, outboxID: try result.int64(index, 1) ?? 0,
                        number: result[index, 2] ?? "", status: result[index, 3] ?? "",
                        statusError: Int(try result.int64(index, 4) ?? -1)))
                }
                let fates = GammuSentItemFate.fates(rows)
                if !fates.isEmpty {
                    try session.execute("""
                        UPDATE metergate_replies r SET fate = f.fate
                        FROM unnest($2::bigint[], $3::text[]) AS f(reply_id, fate)
                        WHERE r.instance = $1 AND r.reply_id = f.reply_id
                        """, [instance, Self.array(fates.map(\.replyID)), Self.textArray(fates.map(\.status))])
                }
                return fates
            }
        }
        return GammuSentItemFate.logFailures(fates, logger: logger)
    }

    /// Once per process: our table beside SMSD's (created under an advisory lock, as several
    /// instances may start at once), and an index of the unprocessed inbox rows (skipped
    /// without the privilege to create it).
    private func prepare(_ session: PostgresSession) throws {
        guard !prepared.withLock({ $0 }) else { return }
        try session.transaction {
            try session.execute("SELECT pg_advisory_xact_lock(hashtext('metergate_replies'))")
            try session.execute("""
                CREATE TABLE IF NOT EXISTS metergate_replies (
                    instance text NOT NULL,
                    reply_id bigint NOT NULL,
                    outbox_id integer NOT NULL,
                    feed text NOT NULL DEFAULT '',
                    fate text,
                    handed_at timestamp(0) without time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
                    PRIMARY KEY (instance, reply_id)
                )
                """)
            try session.execute("CREATE INDEX IF NOT EXISTS metergate_replies_open ON metergate_replies (outbox_id) WHERE fate IS NULL")
        }
        _ = try? session.transaction {
            try session.execute("SELECT pg_advisory_xact_lock(hashtext('metergate_replies'))")
            try session.execute(#"CREATE INDEX IF NOT EXISTS metergate_inbox_unprocessed ON inbox ("ID") WHERE "Processed" = false"#)
        }
        prepared.withLock { $0 = true }
    }

    /// Runs `body` on the connection; failures name the database.
    private func session<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        do {
            return try await connection.withSession(body)
        } catch let error as PostgresError {
            throw GammuSMSDError(database: label, message: error.description, cause: error)
        }
    }

    static func array(_ ids: [Int64]) -> String {
        "{" + ids.map(String.init).joined(separator: ",") + "}"
    }

    /// A text[] literal: every element quoted, `"` and `\` escaped.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }
}
