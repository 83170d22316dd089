// libpq (PostgreSQL's C client) for Swift: the header, and the diagnostic field codes that
// libpq defines as character macros Swift does not import.
#ifndef METERGATE_CLIBPQ_SHIM_H
#define METERGATE_CLIBPQ_SHIM_H

#include <libpq-fe.h>

static inline const char *clibpq_result_sqlstate(const PGresult *result) {
    return PQresultErrorField(result, 'C');
}

static inline const char *clibpq_result_primary(const PGresult *result) {
    return PQresultErrorField(result, 'M');
}

static inline const char *clibpq_result_detail(const PGresult *result) {
    return PQresultErrorField(result, 'D');
}

static inline const char *clibpq_result_severity(const PGresult *result) {
    return PQresultErrorField(result, 'V');
}

static inline void clibpq_ignore_notice(void *context, const char *message) {
    (void)context;
    (void)message;
}

/// Server notices (`relation … already exists, skipping`) are not printed on stderr.
static inline void clibpq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, clibpq_ignore_notice, 0);
}

#endif
