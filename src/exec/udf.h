/*
 * sluice exec — calling the functions a profile binds (CREATE FUNCTION +
 * `[function NAME]`), a batch at a time.  Private.
 *
 * Design (docs/architecture.md "Bound functions"): before a query
 * evaluates an input batch, the engine computes every call site of a bound
 * function over all rows of the batch — arguments evaluated per row, then
 * one call of the binding per `batch_size` rows — and keeps the results per
 * row; evaluation then reads them (SLUICE_EXPR_UDF).  Rows a WHERE later
 * drops are computed too: results of external functions are at-least-once.
 */
#ifndef SLUICE_EXEC_UDF_H
#define SLUICE_EXEC_UDF_H

#include <stddef.h>

#include "plan/plan.h"
#include "sluice/arena.h"
#include "sluice/error.h"

/** What happens to the rows of a call that failed (after any retries). */
typedef enum sluice_udf_on_error {
    SLUICE_UDF_DEAD_LETTER = 0, /**< the row goes to the dead letter, not to the sink (default) */
    SLUICE_UDF_NULL,            /**< the call's result is NULL */
    SLUICE_UDF_FAIL             /**< the pipeline stops with an error (nonzero exit) */
} sluice_udf_on_error;

/** How one function is called.  `call` computes nrows results from nrows *
 *  nargs row-major arguments (failed[] comes zeroed); it returns 0, or
 *  nonzero with a message in err after setting failed[r] = 1 for each row
 *  whose result it could not compute (none set: all rows failed).  It may
 *  return SLUICE_ERR_STOPPED when a stop was requested while it waited: the
 *  batch is then abandoned, not counted as failed.  VARCHAR results stay
 *  valid until the next call (the engine copies them). */
typedef struct sluice_udf_binding {
    const char *name;
    int (*call)(void *ctx, size_t nrows, size_t nargs, const sluice_value *args, sluice_value *results,
                unsigned char *failed, char *err, size_t err_size);
    void *ctx;
    size_t batch_size;          /**< rows per request (the profile's batch_size), >= 1 */
    size_t call_rows;           /**< rows per call of `call`: batch_size, or 0 = the whole batch
                                     (a binding that splits it and pipelines its requests) */
    sluice_udf_on_error on_error;
} sluice_udf_binding;

/** Parse an on_error value (dead_letter | null | fail); 0 or -1. */
int sluice_udf_on_error_parse(const char *s, sluice_udf_on_error *out);

/** Compute every bound-function call of query q over the nrows rows
 *  (ncols values each) of a batch.  Strings are copied into arena.  Rows
 *  whose call failed under on_error = dead_letter are flagged in
 *  q->udf->failed.  Returns SLUICE_OK, SLUICE_ERR_NOMEM, SLUICE_ERR_INVALID
 *  (an unbound function), SLUICE_ERR_RUNTIME (a failed call under
 *  on_error = fail) or SLUICE_ERR_STOPPED, with errstr saying which. */
sluice_err_t sluice_udf_prefetch(const sluice_plan *plan, const sluice_query_plan *q, const sluice_value *rows,
                                 size_t nrows, size_t ncols, sluice_arena *arena, char *errstr,
                                 size_t errstr_size);

/** Free the per-batch buffers of q's calls (sluice_plan_free). */
void sluice_udf_release(sluice_query_plan *q);

#endif
