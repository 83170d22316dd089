import Foundation
import GRDB
import Ledger

/// A phone number or address bound to an account (a row of `account_contact`).
struct ContactPair: Hashable {
    var contact: String
    var uin: String
}

extension SQLiteLedger {
    /// Inserts or updates accounts in one transaction. With `replacing`, accounts absent
    /// from `accounts` are removed first (a full export from billing).
    public func importAccounts(_ accounts: [Account], replacing: Bool) async throws -> Int {
        let statements = self.statements
        return try await write { db in
            if replacing {
                try db.execute(sql: "DELETE FROM account")
                try db.execute(sql: "DELETE FROM account_contact")
            }
            // The statements of the import run through the C API, prepared once (a million rows:
            // GRDB's argument boxing and row decoding cost more than SQLite's work).
            func statement(_ sql: StaticString) throws -> RawStatement { try statements.statement(sql, in: db) }
            let upsert = try statement("""
                INSERT INTO account (uin, meters, previous, digits, phones, emails, imported_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (uin) DO UPDATE SET meters = excluded.meters, previous = excluded.previous,
                    digits = excluded.digits, phones = excluded.phones, emails = excluded.emails,
                    imported_at = excluded.imported_at
                """)
            // The contacts index (`account_contact`, for the history asked without a UIN) takes
            // only what changed, written after the accounts in key order: a re-import of the same
            // export writes nothing there, a first import appends in order (not 1M random inserts).
            let before = try statement("SELECT phones, emails FROM account WHERE uin = ?")
            // Into an empty table (a first import, or `replacing`) an account has contacts before
            // only when this import named its UIN already.
            let empty = try statement("SELECT NOT EXISTS (SELECT 1 FROM account)").first({ _ in }, read: { $0.int(0) == 1 }) ?? false
            var written: Set<String> = []
            /// (contact, uin) → whether the pair is bound after this import; the last row of a UIN
            /// given twice decides.
            var changes: [ContactPair: Bool] = [:]
            let now = Date().timeIntervalSince1970
            for account in accounts {
                let phones = Self.joined(account.phones), emails = Self.joined(account.emails)
                var old: [String] = []
                var unchanged = false
                if !empty || !written.insert(account.uin).inserted, let row = try before.first({ $0.bind(1, account.uin) }, read: { ($0.text(0) ?? "", $0.text(1) ?? "") }) {
                    let (oldPhones, oldEmails) = row
                    unchanged = oldPhones == phones && oldEmails == emails
                    old = unchanged ? [] : Self.split(oldPhones) + Self.split(oldEmails)
                }
                try upsert.run {
                    $0.bind(1, account.uin)
                    $0.bind(2, Self.joined(account.meters))
                    $0.bind(3, Self.joined(account.previous))
                    $0.bind(4, account.digits.map { Int64($0) })
                    $0.bind(5, phones)
                    $0.bind(6, emails)
                    $0.bind(7, now)
                }
                if unchanged { continue }
                let new = account.phones + account.emails
                for contact in old where !contact.isEmpty && !new.contains(contact) {
                    changes[ContactPair(contact: contact, uin: account.uin)] = false
                }
                for contact in new where !contact.isEmpty && !old.contains(contact) {
                    changes[ContactPair(contact: contact, uin: account.uin)] = true
                }
            }
            // SQLite's key order (BINARY: the UTF-8 bytes), which is also the cheapest to compare.
            let ordered = changes.sorted { a, b in
                a.key.contact == b.key.contact
                    ? a.key.uin.utf8.lexicographicallyPrecedes(b.key.uin.utf8)
                    : a.key.contact.utf8.lexicographicallyPrecedes(b.key.contact.utf8)
            }
            let forget = try statement("DELETE FROM account_contact WHERE contact = ? AND uin = ?")
            let bind = try statement("INSERT OR IGNORE INTO account_contact (contact, uin) VALUES (?, ?)")
            for (pair, bound) in ordered {
                try (bound ? bind : forget).run {
                    $0.bind(1, pair.contact)
                    $0.bind(2, pair.uin)
                }
            }
            return accounts.count
        }
    }

    public func accountCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0 }
    }

    public func account(uin: String) async throws -> Account? {
        let statements = self.statements
        return try await read { db in try SQLiteLedgerTransaction(db: db, statements: statements).account(uin: uin) }
    }
}

extension SQLiteLedger {
    /// A page of recorded readings (accepted, held, duplicate) received at or after `since`,
    /// one row per meter, oldest first, from the submission after `cursor`; superseded ones
    /// only with `includeSuperseded`, with status `superseded`.
    public func exportPage(since: Date?, after cursor: Int64, limit: Int, includeSuperseded: Bool) async throws -> ExportPage {
        let limit = max(1, limit)
        return try await read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.uin, s.meters, s.vals, s.previous, s.received_at_text, s.channel, s.sender,
                       CASE WHEN s.superseded_by IS NULL THEN s.status ELSE 'superseded' END, m.external_id, s.id
                FROM submission s JOIN message m ON m.id = s.message_id
                WHERE s.status IN ('accepted', 'held', 'duplicate') AND s.received_at >= ? AND s.id > ?
                  AND (? OR s.superseded_by IS NULL)
                ORDER BY s.id LIMIT ?
                """, arguments: [since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude, cursor, includeSuperseded, limit])
            var page: [ExportRow] = []
            for row in rows {
                let meters = Self.split(row[1])
                let values = Self.split(row[2])
                let previous = Self.splitOptional(row[3])
                for (index, meter) in meters.enumerated() where index < values.count {
                    page.append(ExportRow(
                        uin: row[0], meter: meter, value: values[index],
                        previous: index < previous.count ? previous[index] : nil,
                        receivedAt: row[4], channel: row[5], sender: row[6], status: row[7], messageID: row[8]))
                }
            }
            return ExportPage(rows: page, next: rows.count == limit ? rows.last.map { $0[9] } : nil)
        }
    }
}
