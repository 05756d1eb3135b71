/*
 * sluice exec — lookup tables: the tables a lookup join reads (Flink's
 * lookup join, `FOR SYSTEM_TIME AS OF` a processing-time attribute).  A
 * profile binds each CREATE TABLE that is looked up to a `[lookup NAME]`
 * section; the runtime opens the connector (src/connectors/lookup_*.c)
 * and hands it to the plan (sluice_lookup_plan.table) before the engine
 * runs.  Private.
 *
 * A lookup is batched: the join operator gathers the keys of a whole
 * input batch and asks once, so a remote table answers in one round trip
 * per batch.  Results reflect the table's contents when it is asked
 * (processing time, as in Flink): nothing of the table is checkpointed,
 * and a replay after a failure may meet other contents.
 */
#ifndef SLUICE_EXEC_LOOKUP_H
#define SLUICE_EXEC_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/error.h"
#include "sluice/value.h"

/** Where a lookup's matches are: for key i, the table rows
 *  rows[first[i] .. first[i] + count[i]), each `width` values (the
 *  table's declared columns, in order).  Owned by the caller, grown by
 *  the table with sluice_lookup_result_reserve(); the row pointers and
 *  their values stay valid until the next lookup on the same table. */
typedef struct sluice_lookup_result {
    const sluice_value **rows;
    size_t nrows, cap;
    size_t *first, *count;  /**< per key */
    size_t key_cap;
} sluice_lookup_result;

typedef struct sluice_lookup_table sluice_lookup_table;

/** A lookup table (one per `[lookup NAME]` section). */
struct sluice_lookup_table {
    const char *name;
    size_t width;           /**< columns of a row */
    /** Look up n keys: key i is keys[i*nkeycols .. +nkeycols), matched
     *  against the table columns key_cols[0 .. nkeycols) by SQL equality
     *  of values of one type (a NULL key matches nothing: the caller
     *  leaves such keys out).  Fills out (first/count sized for n by the
     *  callee).  now_ms: processing time (for reloads and caches).
     *  SLUICE_OK; SLUICE_ERR_NOMEM; another error with err saying why (a
     *  remote table that cannot be reached). */
    sluice_err_t (*lookup)(sluice_lookup_table *t, const size_t *key_cols, size_t nkeycols, const sluice_value *keys,
                           size_t n, int64_t now_ms, sluice_lookup_result *out, char *err, size_t err_size);
    /** Release the table (NULL-safe through sluice_lookup_table_close). */
    void (*close)(sluice_lookup_table *t);
};

static inline void sluice_lookup_table_close(sluice_lookup_table *t) {
    if (t) t->close(t);
}

/** Make room for n keys and, beyond out->nrows, `rows` more matches.
 *  0, or -1 out of memory. */
int sluice_lookup_result_reserve(sluice_lookup_result *out, size_t n, size_t rows);

/** Free the result's arrays (not the rows, the table's). */
void sluice_lookup_result_free(sluice_lookup_result *out);

#endif
