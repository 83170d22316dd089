import CSQLiteTuning
import Ledger

extension SQLiteLedger {
    /// Process-wide SQLite settings, applied once before the first connection opens.
    static let tuneSQLite: Void = {
        _ = metergate_sqlite_disable_memstatus()
    }()
}
