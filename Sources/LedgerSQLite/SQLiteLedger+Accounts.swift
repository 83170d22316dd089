import Foundation
import GRDB
import Ledger

extension SQLiteLedger {
    /// Inserts or updates accounts in one transaction. With `replacing`, accounts absent
    /// from `accounts` are removed first (a full export from billing).
    public func importAccounts(_ accounts: [Account], replacing: Bool) throws -> Int {
        try write { db in
            if replacing { try db.execute(sql: "DELETE FROM account") }
            let statement = try db.cachedStatement(sql: """
                INSERT INTO account (uin, meters, previous, digits, phones, emails, imported_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (uin) DO UPDATE SET meters = excluded.meters, previous = excluded.previous,
                    digits = excluded.digits, phones = excluded.phones, emails = excluded.emails,
                    imported_at = excluded.imported_at
                """)
            let now = Date().timeIntervalSince1970
            for account in accounts {
                try statement.execute(arguments: [
                    account.uin, Self.joined(account.meters), Self.joined(account.previous), account.digits,
                    Self.joined(account.phones), Self.joined(account.emails), now,
                ])
            }
            return accounts.count
        }
    }

    public func accountCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0 }
    }

    public func account(uin: String) throws -> Account? {
        try read { db in try SQLiteLedgerTransaction(db: db, statements: statements).account(uin: uin) }
    }
}

extension SQLiteLedger {
    /// Calls `body` with each recorded reading (accepted, held, duplicate) received at or
    /// after `since`, one row per meter, oldest first. Streams: memory stays flat.
    public func forEachExportRow(since: Date?, _ body: (ExportRow) throws -> Void) throws {
        try read { db in
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT s.uin, s.meters, s.vals, s.previous, s.received_at_text, s.channel, s.sender,
                       s.status, m.external_id
                FROM submission s JOIN message m ON m.id = s.message_id
                WHERE s.status IN ('accepted', 'held', 'duplicate') AND s.received_at >= ?
                ORDER BY s.id
                """, arguments: [since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude])
            while let row = try cursor.next() {
                let meters = Self.split(row[1])
                let values = Self.split(row[2])
                let previous = Self.splitOptional(row[3])
                for (index, meter) in meters.enumerated() where index < values.count {
                    try body(ExportRow(
                        uin: row[0], meter: meter, value: values[index],
                        previous: index < previous.count ? previous[index] : nil,
                        receivedAt: row[4], channel: row[5], sender: row[6], status: row[7], messageID: row[8]))
                }
            }
        }
    }
}
