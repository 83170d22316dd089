import LedgerStore

extension SQLiteLedger: FeedCursorStore {}
