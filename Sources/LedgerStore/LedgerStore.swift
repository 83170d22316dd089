// LedgerStore
