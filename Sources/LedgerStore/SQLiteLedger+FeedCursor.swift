import Foundation
import GRDB

extension SQLiteLedger {
    /// The position a polled feed has reached at its source (e.g. the last acknowledged
    /// provider id), kept with the messages so that both survive or vanish together.
    public func feedCursor(feed: String) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT cursor FROM feed WHERE name = ?", arguments: [feed])
        }
    }

    /// Moves a feed's cursor (only after the messages it covers are committed).
    public func setFeedCursor(_ cursor: String, feed: String) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO feed (name, cursor) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor
                """, arguments: [feed, cursor])
        }
    }

    /// The feed a queued reply answers (the feed of its message), to send it back the same way.
    public func replyFeed(outboxID: Int64) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: """
                SELECT message.feed FROM outbox JOIN message ON message.id = outbox.message_id WHERE outbox.id = ?
                """, arguments: [outboxID])
        }
    }
}
