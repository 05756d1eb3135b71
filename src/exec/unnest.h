/*
 * sluice exec — the UNNEST operator (FROM src CROSS JOIN UNNEST(array)
 * [WITH ORDINALITY] AS t(column [, position])): one output row per element
 * of the array a source row holds, as Flink's, Trino's and PostgreSQL's
 * CROSS JOIN UNNEST do (a flatMap).  Private.
 *
 * A pure function over a batch of rows: no state across batches, so
 * nothing to snapshot or restore.  The plan is sluice_unnest_plan
 * (plan/plan.h).
 */
#ifndef SLUICE_EXEC_UNNEST_H
#define SLUICE_EXEC_UNNEST_H

#include <stddef.h>

#include "plan/plan.h"
#include "sluice/arena.h"
#include "sluice/error.h"

/** The expanded rows of one batch; reused from batch to batch (zero it
 *  before the first use, free with sluice_unnest_out_free). */
typedef struct sluice_unnest_out {
    sluice_value *rows;   /**< nrows * (ncols_in + 1 + ordinality): the extended rows */
    size_t *origin;       /**< per output row: the index of its input row (for dead letters) */
    size_t nrows;         /**< output rows of the last call */
    size_t cap;           /**< rows allocated */
} sluice_unnest_out;

/** Expand nrows input rows of ncols_in values (row-major) by q->unnest:
 *  for each input row, its array expression (evaluated with strings and
 *  blocks allocated from arena) gives one output row per element, the
 *  input row's values followed by the element and, WITH ORDINALITY, its
 *  1-based position (BIGINT); a NULL or empty array gives no row, as a
 *  CROSS JOIN with an empty table.  Output values borrow what the input
 *  rows and the arrays borrow.  Returns SLUICE_OK, SLUICE_ERR_INVALID when
 *  q has no UNNEST or ncols_in is not its source's width, or
 *  SLUICE_ERR_NOMEM (out is then left with nrows = 0). */
sluice_err_t sluice_unnest_expand(const sluice_query_plan *q, const sluice_value *rows, size_t nrows,
                                  size_t ncols_in, sluice_arena *arena, sluice_unnest_out *out);

/** Free what out holds (not out itself); out is zeroed. */
void sluice_unnest_out_free(sluice_unnest_out *out);

#endif
