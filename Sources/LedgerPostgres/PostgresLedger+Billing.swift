import Foundation
import Ledger
import PostgreSQL

extension PostgresLedger: BillingExchange {
    /// Billing's export goes in with `COPY`, in one transaction. The last row of a UIN given
    /// twice wins (as on SQLite): the rows are made unique here, so the server only stores them.
    /// Into an empty table (a first import, or `replacing`, which empties it first) the rows go
    /// straight in; otherwise through a temporary table, then into `account` in one statement.
    /// Either way the accounts' contacts (who is bound to which account) go in with `COPY` too.
    public func importAccounts(_ accounts: [Account], replacing: Bool) async throws -> Int {
        let now = Date().timeIntervalSince1970
        let latest = Self.latestRows(accounts)
        return try await write { link in
            // One import at a time; readers go on.
            try link.exec("LOCK TABLE account, account_contact IN SHARE ROW EXCLUSIVE MODE")
            let empty: Bool
            if replacing {
                try link.exec("TRUNCATE account, account_contact")
                empty = true
            } else {
                empty = try link.query("SELECT NOT EXISTS (SELECT 1 FROM account)").bool(0, 0) ?? false
            }
            if empty {
                // Into empty tables the indexes are built once at the end, by sorting (about half
                // the server's time of a million inserts into them); the tables are this
                // transaction's alone until it commits (as TRUNCATE makes them anyway).
                try link.exec("SET LOCAL maintenance_work_mem = '256MB'")
                try link.exec("ALTER TABLE account DROP CONSTRAINT account_pkey")
                try link.exec("ALTER TABLE account_contact DROP CONSTRAINT account_contact_pkey")
                try link.exec("DROP INDEX account_contact_by_uin")
                try link.copyIn("COPY account (uin, meters, previous, digits, phones, emails, imported_at) FROM STDIN") { send in
                    Self.sendAccounts(latest, now: now, send)
                }
            } else {
                try link.exec("""
                    CREATE TEMPORARY TABLE account_import (
                        uin text, meters text, previous text, digits integer, phones text, emails text, imported_at double precision
                    ) ON COMMIT DROP
                    """)
                try link.copyIn("COPY account_import FROM STDIN") { send in Self.sendAccounts(latest, now: now, send) }
                try link.exec("DELETE FROM account_contact WHERE uin IN (SELECT uin FROM account_import)")
                try link.exec("""
                    INSERT INTO account (uin, meters, previous, digits, phones, emails, imported_at)
                    SELECT uin, meters, previous, digits, phones, emails, imported_at FROM account_import
                    ON CONFLICT (uin) DO UPDATE SET meters = excluded.meters, previous = excluded.previous,
                        digits = excluded.digits, phones = excluded.phones, emails = excluded.emails,
                        imported_at = excluded.imported_at
                    """)
            }
            // The accounts by phone number and address: the imported accounts' contacts were
            // removed above (or never were), so each (contact, UIN) pair is new.
            try link.copyIn("COPY account_contact (contact, uin) FROM STDIN") { send in
                var chunk: [UInt8] = []
                chunk.reserveCapacity(1 << 18)
                for account in latest {
                    var seen: Set<String> = []
                    for contact in Self.split(Self.joined(account.phones)) + Self.split(Self.joined(account.emails))
                    where !contact.isEmpty && seen.insert(contact).inserted {
                        Self.appendCopyText(contact, to: &chunk)
                        chunk.append(9)
                        Self.appendCopyText(account.uin, to: &chunk)
                        chunk.append(10)
                    }
                    if chunk.count >= 1 << 18 {
                        guard send(chunk) else { return }
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                _ = send(chunk)
            }
            if empty {
                try link.exec("ALTER TABLE account ADD CONSTRAINT account_pkey PRIMARY KEY (uin)")
                try link.exec("ALTER TABLE account_contact ADD CONSTRAINT account_contact_pkey PRIMARY KEY (contact, uin)")
                try link.exec("CREATE INDEX account_contact_by_uin ON account_contact (uin)")
            }
            return accounts.count
        }
    }

    /// Each UIN once, with its last row, in the order UINs first appear.
    static func latestRows(_ accounts: [Account]) -> [Account] {
        var position: [String: Int] = [:]
        position.reserveCapacity(accounts.count)
        var latest: [Account] = []
        latest.reserveCapacity(accounts.count)
        for account in accounts {
            if let index = position[account.uin] {
                latest[index] = account
            } else {
                position[account.uin] = latest.count
                latest.append(account)
            }
        }
        return latest
    }

    /// Accounts as `COPY` rows of `account`'s columns (uin, meters, previous, digits, phones,
    /// emails, imported_at), handed to `send` a chunk at a time.
    static func sendAccounts(_ accounts: [Account], now: Double, _ send: ([UInt8]) -> Bool) {
        let stamp = Array(String(now).utf8)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 18)
        for account in accounts {
            appendCopyText(account.uin, to: &chunk)
            for field in [joined(account.meters), joined(account.previous)] {
                chunk.append(9)
                appendCopyText(field, to: &chunk)
            }
            chunk.append(9)
            if let digits = account.digits { chunk += String(digits).utf8 } else { chunk += Array("\\N".utf8) }
            for field in [joined(account.phones), joined(account.emails)] {
                chunk.append(9)
                appendCopyText(field, to: &chunk)
            }
            chunk.append(9)
            chunk += stamp
            chunk.append(10)
            if chunk.count >= 1 << 18 {
                guard send(chunk) else { return }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        _ = send(chunk)
    }

    /// A value in COPY's text format: backslash, tab, newline and carriage return escaped; a NUL
    /// (which PostgreSQL's text cannot hold) becomes U+FFFD.
    static func appendCopyText(_ text: String, to buffer: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            // Runs of ordinary bytes are copied at once; the few special ones escaped between them.
            var start = 0
            for index in 0..<utf8.count {
                let escaped: (UInt8, UInt8)
                switch utf8[index] {
                case 0x5C: escaped = (0x5C, 0x5C)
                case 0x09: escaped = (0x5C, 0x74)
                case 0x0A: escaped = (0x5C, 0x6E)
                case 0x0D: escaped = (0x5C, 0x72)
                case 0x00: escaped = (0, 0)
                default: continue
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                if escaped.0 == 0 {
                    buffer += [0xEF, 0xBF, 0xBD]
                } else {
                    buffer.append(escaped.0)
                    buffer.append(escaped.1)
                }
                start = index + 1
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }

    public func accountCount() async throws -> Int {
        try await read { link in Int(try link.query("SELECT COUNT(*) FROM account").int(0, 0) ?? 0) }
    }

    public func account(uin: String) async throws -> Account? {
        try await read { link in try PostgresLedgerTransaction.account(uin: uin, link: link) }
    }

    public func exportPage(since: Date?, after cursor: Int64, limit: Int, includeSuperseded: Bool) async throws -> ExportPage {
        let limit = max(1, limit)
        return try await read { link in
            let rows = try link.query("""
                SELECT s.uin, s.meters, s.vals, s.previous, s.received_at_text, s.channel, s.sender,
                       CASE WHEN s.superseded_by IS NULL THEN s.status ELSE 'superseded' END, m.external_id, s.id
                FROM submission s JOIN message m ON m.id = s.message_id
                WHERE s.status IN ('accepted', 'held', 'duplicate') AND s.received_at >= $1 AND s.id > $2
                  AND ($4 OR s.superseded_by IS NULL)
                ORDER BY s.id LIMIT $3
                """, [.of(since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude), .of(cursor), .of(limit), .of(includeSuperseded)])
            var page: [ExportRow] = []
            for row in 0..<rows.count {
                let meters = Self.split(rows.string(row, 1))
                let values = Self.split(rows.string(row, 2))
                let previous = Self.splitOptional(rows.string(row, 3))
                for (index, meter) in meters.enumerated() where index < values.count {
                    page.append(ExportRow(
                        uin: rows.string(row, 0), meter: meter, value: values[index],
                        previous: index < previous.count ? previous[index] : nil, receivedAt: rows.string(row, 4),
                        channel: rows.string(row, 5), sender: rows.text(row, 6), status: rows.string(row, 7),
                        messageID: rows.string(row, 8)))
                }
            }
            return ExportPage(rows: page, next: rows.count == limit ? rows.int(rows.count - 1, 9) : nil)
        }
    }

    public func makeAccountLookup() throws -> any AccountLookup {
        PostgresAccountLookup(link: PostgresLink(
            url: url, password: password, label: "accounts", applicationName: "metergate \(instanceName)", reconnectFor: 30))
    }
}

/// Accounts looked up on a connection of their own, from one thread, outside the writer's
/// transaction (the replay engine's pure stage).
final class PostgresAccountLookup: AccountLookup {
    let link: PostgresLink

    init(link: PostgresLink) {
        self.link = link
    }

    func accounts(_ uins: [String]) throws -> [String: Account?] {
        let distinct = Array(Set(uins))
        return try link.runBlocking { link in
            let rows = try link.query(
                "SELECT uin, meters, previous, digits, phones, emails FROM account WHERE uin = ANY($1::text[])",
                [.text(PostgresLedger.textArray(distinct))])
            var found: [String: Account?] = [:]
            for uin in distinct { found[uin] = .some(nil) }
            for row in 0..<rows.count {
                found[rows.string(row, 0)] = .some(Account(
                    uin: rows.string(row, 0), meters: PostgresLedger.split(rows.string(row, 1)),
                    previous: PostgresLedger.splitOptional(rows.string(row, 2)), digits: rows.int(row, 3).map { Int($0) },
                    phones: PostgresLedger.split(rows.string(row, 4)), emails: PostgresLedger.split(rows.string(row, 5))))
            }
            return found
        }
    }
}
