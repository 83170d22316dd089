// sqlite3_config is variadic, which Swift cannot call: one-line wrappers.
#ifndef METERGATE_SQLITE_TUNING_H
#define METERGATE_SQLITE_TUNING_H

#include <sqlite3.h>

// Memory statistics take a global mutex on every allocation; metergate never reads them.
// Only effective before SQLite is initialised (returns SQLITE_MISUSE after, harmlessly).
static inline int metergate_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
