/*
 * The `op` column of the sinks that write rows as text (file, console):
 * when the query's output is not append-only, each row is written with its
 * change kind first, as Flink RowKind's short string ("+I", "-U", "+U",
 * "-D"), so that a reader of the output can tell an update or a delete of
 * a key from a new row.  An APPEND query's output has no such column and
 * stays as it always was.  Private to src/connectors/.
 */
#ifndef SLUICE_CONNECTORS_OP_COLUMN_H
#define SLUICE_CONNECTORS_OP_COLUMN_H

#include <stddef.h>

#include "sluice/batch.h"
#include "sluice/module.h"

/** 1 when the sink's rows are a changelog that is not append-only
 *  (cfg->output_mode UPDATE or COMPLETE), so the `op` column is written;
 *  0 for APPEND and for an unknown mode (0: a sink opened outside a
 *  pipeline writes what it always wrote). */
int sluice_op_column_wanted(const sluice_module_config *cfg);

/** A new array of 1 + s->ncolumns columns: `op` (VARCHAR) followed by s's
 *  columns (names borrowed from s).  The caller frees it; NULL when out of
 *  memory. */
sluice_column *sluice_op_columns(const sluice_schema *s);

/** The `op` value of row i of b: its kind's short string, as a VARCHAR
 *  pointing at static bytes. */
sluice_value sluice_op_value(const sluice_row_batch *b, size_t i);

#endif
