import Foundation
import GRDB
import Ledger

/// What a mail feed keeps across restarts: its cursor (in the feed row), and lookups of what the
/// ledger already holds.
extension SQLiteLedger {
    public func cursor(feed: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT cursor FROM feed WHERE name = ?", arguments: [feed]) }
    }

    public func saveCursor(_ cursor: String, feed: String) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO feed (name, cursor) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor
                """, arguments: [feed, cursor])
        }
    }

    /// Which of `externalIDs` the ledger holds for `channel`.
    public func knownExternalIDs(channel: String, _ externalIDs: [String]) async throws -> Set<String> {
        guard !externalIDs.isEmpty else { return [] }
        return try await read { db in
            var known = Set<String>()
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM message WHERE channel = ? AND external_id = ?")
            for id in externalIDs where try Bool.fetchOne(statement, arguments: [channel, id]) != nil {
                known.insert(id)
            }
            return known
        }
    }

    /// Calls `body` with the raw bytes of every message of `feed` on `channel` that kept them.
    public func forEachRawMessage(feed: String, channel: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async throws {
        try await read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT raw FROM message WHERE channel = ? AND feed = ? AND raw IS NOT NULL", arguments: [channel, feed])
            while let row = try rows.next() {
                let data: Data = row[0]
                try body([UInt8](data))
            }
        }
    }
}
