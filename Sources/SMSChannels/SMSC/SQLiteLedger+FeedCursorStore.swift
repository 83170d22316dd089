import Ledger
import LedgerSQLite

extension SQLiteLedger: FeedCursorStore {}
