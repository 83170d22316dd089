import GRDB
import Ledger

extension SQLiteLedger {
    /// Migrations are only ever appended; a released one is never edited.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: accounts, messages, submissions, outbox, feeds") { db in
            try db.execute(sql: """
                CREATE TABLE account (
                    uin TEXT PRIMARY KEY NOT NULL,
                    meters TEXT NOT NULL,
                    previous TEXT NOT NULL DEFAULT '',
                    digits INTEGER,
                    phones TEXT NOT NULL DEFAULT '',
                    emails TEXT NOT NULL DEFAULT '',
                    imported_at REAL NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE message (
                    id INTEGER PRIMARY KEY,
                    channel TEXT NOT NULL,
                    external_id TEXT NOT NULL,
                    feed TEXT NOT NULL,
                    sender TEXT,
                    received_at REAL NOT NULL,
                    received_at_text TEXT NOT NULL,
                    subject TEXT,
                    text TEXT,
                    raw BLOB,
                    status TEXT NOT NULL,
                    reason TEXT,
                    outcome TEXT NOT NULL,
                    reply TEXT,
                    processed_at REAL NOT NULL,
                    UNIQUE (channel, external_id)
                );
                CREATE INDEX message_by_sender ON message (sender, received_at);
                CREATE INDEX message_by_processed ON message (processed_at);

                CREATE TABLE submission (
                    id INTEGER PRIMARY KEY,
                    message_id INTEGER NOT NULL REFERENCES message (id),
                    uin TEXT NOT NULL,
                    period TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('accepted', 'held', 'duplicate', 'rejected')),
                    reason TEXT,
                    meters TEXT NOT NULL,
                    vals TEXT NOT NULL,
                    previous TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    sender TEXT,
                    received_at REAL NOT NULL,
                    received_at_text TEXT NOT NULL,
                    reviewed_at REAL,
                    review_decision TEXT
                );
                CREATE INDEX submission_by_uin ON submission (uin, status, id);
                CREATE INDEX submission_by_received ON submission (received_at);

                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY,
                    message_id INTEGER REFERENCES message (id),
                    channel TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    subject TEXT,
                    in_reply_to TEXT,
                    refs TEXT NOT NULL DEFAULT '',
                    body TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'expired', 'recorded')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT,
                    created_at REAL NOT NULL,
                    sent_at REAL
                );
                CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

                CREATE TABLE feed (
                    name TEXT PRIMARY KEY NOT NULL,
                    last_poll_at REAL,
                    last_success_at REAL,
                    last_error TEXT,
                    last_error_at REAL,
                    consecutive_failures INTEGER NOT NULL DEFAULT 0,
                    cursor TEXT
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: no index on processed_at (only status counts read it)") { db in
            try db.execute(sql: "DROP INDEX message_by_processed")
        }
        migrator.registerMigration("v3: replies by recipient (the loop guard's question)") { db in
            try db.execute(sql: "CREATE INDEX outbox_by_recipient ON outbox (recipient, sent_at)")
        }
        migrator.registerMigration("v4: outbox.data_sent_at (the end of a reply's data went to the server)") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN data_sent_at REAL")
        }
        migrator.registerMigration("v5: corrections (superseded submissions, unbound senders) and accounts by contact") { db in
            try db.execute(sql: """
                ALTER TABLE submission ADD COLUMN superseded_by INTEGER REFERENCES submission (id);
                ALTER TABLE submission ADD COLUMN sender_bound INTEGER;
                CREATE TABLE account_contact (
                    contact TEXT NOT NULL,
                    uin TEXT NOT NULL,
                    PRIMARY KEY (contact, uin)
                ) WITHOUT ROWID;
                CREATE INDEX account_contact_by_uin ON account_contact (uin);
                """)
            // Before corrections, every submission of a period stood; now the latest accepted
            // one counts, and the accepted and duplicate ones before it are superseded by it.
            try db.execute(sql: """
                UPDATE submission SET superseded_by = (
                    SELECT MAX(latest.id) FROM submission AS latest
                    WHERE latest.uin = submission.uin AND latest.period = submission.period AND latest.status = 'accepted')
                WHERE status IN ('accepted', 'duplicate') AND id < (
                    SELECT MAX(latest.id) FROM submission AS latest
                    WHERE latest.uin = submission.uin AND latest.period = submission.period AND latest.status = 'accepted')
                """)
            let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO account_contact (contact, uin) VALUES (?, ?)")
            let rows = try Row.fetchCursor(db, sql: "SELECT uin, phones, emails FROM account")
            while let row = try rows.next() {
                let uin: String = row[0]
                for contact in Self.split(row[1]) + Self.split(row[2]) where !contact.isEmpty {
                    try insert.execute(arguments: [contact, uin])
                }
            }
        }
        migrator.registerMigration("v6 (issue 13): message.sender_authenticated (the hourly limit counts forged mail apart)") { db in
            // 1: the receiving server authenticated the From domain, 0: it did not, NULL: no
            // such notion (SMS, older rows). Read with the sender index (sender, received_at).
            try db.execute(sql: "ALTER TABLE message ADD COLUMN sender_authenticated INTEGER")
        }
        migrator.registerMigration("v7: account_contact without its index by UIN (import removes exact pairs)") { db in
            try db.execute(sql: "DROP INDEX account_contact_by_uin")
        }
        migrator.registerMigration("v8 (issue 15): the support desk's look-ups (messages by account, by time; replies by message)") { db in
            // Every UIN of a message's results, whatever their status (a rejected result records
            // no submission); filled for the messages before from their recorded outcomes.
            try db.execute(sql: """
                CREATE TABLE message_uin (
                    uin TEXT NOT NULL,
                    message_id INTEGER NOT NULL,
                    PRIMARY KEY (uin, message_id)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO message_uin (uin, message_id)
                SELECT json_extract(result.value, '$.uin'), message.id
                FROM message, json_each(message.outcome, '$.results') AS result
                WHERE json_valid(message.outcome) AND json_extract(result.value, '$.uin') IS NOT NULL;
                CREATE INDEX message_by_received ON message (received_at);
                CREATE INDEX outbox_by_message ON outbox (message_id);
                """)
        }
        return migrator
    }
}
