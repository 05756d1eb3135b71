/*
 * The "console" sink (Spark's console sink): every micro-batch that emits
 * rows is printed to stdout as
 *
 *     -------------------------------------------
 *     Batch: EPOCH
 *     -------------------------------------------
 *
 * followed by an aligned table of the batch's rows (table_print.h) and an
 * empty line.  Option `rows` (default 20) caps the rows printed per batch;
 * then "only showing top N rows" follows the table.  When the query's
 * output is not append-only, the table's first column is `op`, the row's
 * change kind (op_column.h).  stdout is looked up at
 * each write, so a redirected stdout (freopen) is honoured.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/op_column.h"
#include "connectors/table_print.h"

/* The option table (sluice/module.h): checked before open(), printed by
 * `sluice connectors`. */
static const sluice_option_spec console_sink_specs[] = {
    {"rows", SLUICE_OPT_INT, "20",
     "rows printed per micro-batch, at most (Spark's console sink `numRows`); then \"only showing top N rows\" "
     "follows the table", NULL, 1, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define CONSOLE_RULE "-------------------------------------------"

typedef struct console_sink {
    sluice_sink base;
    const char *instance;
    const sluice_schema *schema;
    int64_t max_rows;
    const sluice_value **rows;    /* row pointers of the batch being printed */
    size_t rows_cap;
    sluice_column *op_columns;    /* `op` + the schema's columns, or NULL: no op column */
    sluice_value *op_rows;        /* rows_cap rows of 1 + ncolumns values */
} console_sink;

static sluice_err_t console_sink_open(const sluice_module_config *cfg, sluice_sink **out,
                                      char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_conn_check_specs(cfg, console_sink_specs, "sink", "console", errstr, errstr_size);
    if (err) return err;
    int64_t max_rows = 20;
    if ((err = sluice_conn_opt_posint(cfg, "rows", "sink", "console", &max_rows, errstr,
                                      errstr_size)))
        return err;
    if (!cfg->schema)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                             "sink %s (console): no schema",
                             cfg->instance ? cfg->instance : "?");
    console_sink *cs = calloc(1, sizeof *cs);
    if (!cs) return SLUICE_ERR_NOMEM;
    cs->base.ops = &sluice_console_sink_ops;
    cs->instance = cfg->instance ? cfg->instance : "?";
    cs->schema = cfg->schema;
    cs->max_rows = max_rows;
    if (sluice_op_column_wanted(cfg) && !(cs->op_columns = sluice_op_columns(cfg->schema))) {
        free(cs);
        return SLUICE_ERR_NOMEM;
    }
    *out = &cs->base;
    return SLUICE_OK;
}

static sluice_err_t console_sink_write(sluice_sink *sink, int64_t epoch,
                                       const sluice_row_batch *batch,
                                       char *errstr, size_t errstr_size) {
    console_sink *cs = (console_sink *)sink;
    if (batch->nrows == 0) return SLUICE_OK;
    size_t nc = cs->schema->ncolumns;
    size_t shown = batch->nrows;
    if ((uint64_t)cs->max_rows < shown) shown = (size_t)cs->max_rows;
    if (shown > cs->rows_cap) {
        const sluice_value **r = realloc(cs->rows, shown * sizeof *r);
        if (!r)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                                 "sink %s (console): out of memory", cs->instance);
        cs->rows = r;
        if (cs->op_columns) {
            sluice_value *v = realloc(cs->op_rows, shown * (nc + 1) * sizeof *v);
            if (!v)
                return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                                     "sink %s (console): out of memory", cs->instance);
            cs->op_rows = v;
        }
        cs->rows_cap = shown;
    }
    for (size_t i = 0; i < shown; i++) {
        cs->rows[i] = sluice_row_batch_row(batch, i);
        if (!cs->op_columns) continue;
        sluice_value *row = cs->op_rows + i * (nc + 1);
        row[0] = sluice_op_value(batch, i);
        if (nc) memcpy(row + 1, cs->rows[i], nc * sizeof *row);
        cs->rows[i] = row;
    }
    FILE *out = stdout;
    fprintf(out, CONSOLE_RULE "\nBatch: %lld\n" CONSOLE_RULE "\n", (long long)epoch);
    sluice_err_t err = sluice_table_print(out, cs->op_columns ? cs->op_columns : cs->schema->columns,
                                          nc + (cs->op_columns != NULL),
                                          cs->rows, shown, batch->nrows);
    if (!err && shown < batch->nrows) fprintf(out, "only showing top %zu rows\n", shown);
    fputc('\n', out);
    if (!err && ferror(out)) err = SLUICE_ERR_IO;
    if (err)
        return sluice_seterr(errstr, errstr_size, err, "sink %s (console): cannot print batch %lld",
                             cs->instance, (long long)epoch);
    return SLUICE_OK;
}

static sluice_err_t console_sink_commit(sluice_sink *sink, int64_t epoch,
                                        char *errstr, size_t errstr_size) {
    console_sink *cs = (console_sink *)sink;
    if (fflush(stdout) != 0)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_IO,
                             "sink %s (console): cannot flush batch %lld to stdout",
                             cs->instance, (long long)epoch);
    return SLUICE_OK;
}

static void console_sink_close(sluice_sink *sink) {
    if (!sink) return;
    console_sink *cs = (console_sink *)sink;
    free(cs->rows);
    free(cs->op_columns);
    free(cs->op_rows);
    free(cs);
}

/** The "console" sink connector (see the top of this file). */
const sluice_sink_ops sluice_console_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "console",
    .option_specs = console_sink_specs,
    .open = console_sink_open,
    .write = console_sink_write,
    .commit = console_sink_commit,
    .report = NULL,
    .close = console_sink_close,
};
