/*
 * The "memory" sink: the result table, kept in memory.  With a PRIMARY KEY
 * rows are upserted by key (the last written wins, as a MySQL upsert);
 * without one every written row is kept in arrival order.  Tests read it
 * through the C API (connectors.h); report() prints it as an aligned table
 * ordered by primary key.  No options.
 *
 * The rows written are a changelog (sluice/changelog.h), applied as a
 * Flink upsert sink applies one: with a key, an insert or update-after
 * upserts, a delete removes the key's row and an update-before does
 * nothing (the update-after that follows replaces the row); without a key
 * (a retract sink), an insert or update-after appends and an update-before
 * or delete removes the first row equal in every column.  The kind that
 * last set each row and the count of each kind written are kept for tests.
 *
 * Rows live in one array of values; VARCHAR bytes are copied into an arena
 * that is compacted when upserts have left more dead bytes than live ones.
 * Keys are found through an open-addressing hash table of row indexes.
 */
#include <stdlib.h>
#include <string.h>

#include "sluice/changelog.h"

#include "connectors/connectors.h"
#include "connectors/connectors_int.h"
#include "connectors/table_print.h"
#include "format/format.h"

/* The option table (sluice/module.h): empty, the sink takes no option of
 * its own (only every sink's `connector` and `on_error`). */
static const sluice_option_spec memory_sink_specs[] = {
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define ARENA_ROUND(n) (((n) + 15) & ~(size_t)15)

/* kinds[] entry of a row a delete removed, until the write() ends */
#define ROW_DEAD 0xFF

typedef struct memory_sink {
    sluice_sink base;
    const char *instance;
    const sluice_schema *schema;   /* borrowed from the config */
    size_t ncols;
    sluice_value *rows;            /* nrows * ncols, in first-arrival order */
    uint8_t *kinds;                /* nrows: the kind that last set the row, or ROW_DEAD */
    size_t ndead;                  /* ROW_DEAD rows, removed at the end of write() */
    uint64_t kind_count[4];        /* rows written per sluice_row_kind */
    size_t nrows, cap;
    size_t *slots;                 /* hash table: row index + 1, 0 = empty */
    size_t nslots;                 /* power of two, or 0 without a key */
    size_t *order;                 /* row indexes in primary-key order */
    int sorted;                    /* order[] is current */
    sluice_arena *strings;         /* VARCHAR bytes of kept rows */
    size_t live_bytes;             /* arena bytes still referenced */
    uint64_t written;
} memory_sink;

static sluice_err_t memory_sink_open(const sluice_module_config *cfg, sluice_sink **out,
                                     char *errstr, size_t errstr_size) {
    sluice_err_t err = sluice_conn_check_specs(cfg, memory_sink_specs, "sink", "memory", errstr, errstr_size);
    if (err) return err;
    if (!cfg->schema)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                             "sink %s (memory): no schema", cfg->instance ? cfg->instance : "?");
    memory_sink *ms = calloc(1, sizeof *ms);
    if (!ms) return SLUICE_ERR_NOMEM;
    ms->base.ops = &sluice_memory_sink_ops;
    ms->instance = cfg->instance ? cfg->instance : "?";
    ms->schema = cfg->schema;
    ms->ncols = cfg->schema->ncolumns;
    ms->strings = sluice_arena_new(0);
    if (!ms->strings) {
        free(ms);
        return SLUICE_ERR_NOMEM;
    }
    *out = &ms->base;
    return SLUICE_OK;
}

static uint64_t key_hash(const memory_sink *ms, const sluice_value *row) {
    uint64_t h = 0x2545F4914F6CDD1DULL;
    for (size_t k = 0; k < ms->schema->npk; k++)
        h = sluice_value_hash(&row[ms->schema->pk[k]], h);
    return h;
}

static int key_equal(const memory_sink *ms, const sluice_value *a, const sluice_value *b) {
    for (size_t k = 0; k < ms->schema->npk; k++) {
        size_t c = ms->schema->pk[k];
        if (!sluice_value_equal(&a[c], &b[c])) return 0;
    }
    return 1;
}

/* The slot holding row's key, or the empty slot where it belongs. */
static size_t *find_slot(memory_sink *ms, const sluice_value *row) {
    size_t mask = ms->nslots - 1;
    for (size_t i = (size_t)key_hash(ms, row) & mask;; i = (i + 1) & mask) {
        size_t *s = &ms->slots[i];
        if (*s == 0 || key_equal(ms, ms->rows + (*s - 1) * ms->ncols, row)) return s;
    }
}

static int grow_slots(memory_sink *ms) {
    size_t n = ms->nslots ? ms->nslots * 2 : 1024;
    size_t *s = calloc(n, sizeof *s);
    if (!s) return -1;
    free(ms->slots);
    ms->slots = s;
    ms->nslots = n;
    for (size_t r = 0; r < ms->nrows; r++) *find_slot(ms, ms->rows + r * ms->ncols) = r + 1;
    return 0;
}

/* Copy the VARCHAR bytes of row into the arena.  An ARRAY is kept as its
 * JSON text (a VARCHAR): what the table prints, in one string the
 * compaction below moves like any other. */
static int keep_strings(memory_sink *ms, sluice_value *row) {
    for (size_t j = 0; j < ms->ncols; j++) {
        if (row[j].type == SLUICE_TYPE_ARRAY) {
            size_t n;
            char *text = sluice_value_render_alloc(&row[j], &n);
            char *c = text && n <= UINT32_MAX ? sluice_arena_strndup(ms->strings, text, n) : NULL;
            free(text);
            if (!c) return -1;
            row[j] = sluice_value_varchar(c, n);
            ms->live_bytes += ARENA_ROUND(n + 1);
            continue;
        }
        if (row[j].type != SLUICE_TYPE_VARCHAR) continue;
        char *c = sluice_arena_strndup(ms->strings, row[j].u.s ? row[j].u.s : "", row[j].len);
        if (!c) return -1;
        row[j].u.s = c;
        ms->live_bytes += ARENA_ROUND((size_t)row[j].len + 1);
    }
    return 0;
}

static void drop_strings(memory_sink *ms, const sluice_value *row) {
    for (size_t j = 0; j < ms->ncols; j++)
        if (row[j].type == SLUICE_TYPE_VARCHAR)
            ms->live_bytes -= ARENA_ROUND((size_t)row[j].len + 1);
}

/* After upserts: move live strings into a fresh arena when most are dead.
 * One allocation holds them all, so the move cannot fail half-way. */
static int compact_strings(memory_sink *ms) {
    if (sluice_arena_used(ms->strings) <= 2 * ms->live_bytes + (1u << 20)) return 0;
    sluice_arena *fresh = sluice_arena_new(0);
    char *p = fresh ? sluice_arena_alloc(fresh, ms->live_bytes) : NULL;
    if (!p) {
        sluice_arena_destroy(fresh);
        return 0;  /* keep the old arena: still correct, only larger */
    }
    for (size_t r = 0; r < ms->nrows; r++) {
        sluice_value *row = ms->rows + r * ms->ncols;
        for (size_t j = 0; j < ms->ncols; j++) {
            if (row[j].type != SLUICE_TYPE_VARCHAR) continue;
            memcpy(p, row[j].u.s, row[j].len);
            p[row[j].len] = '\0';
            row[j].u.s = p;
            p += ARENA_ROUND((size_t)row[j].len + 1);
        }
    }
    sluice_arena_destroy(ms->strings);
    ms->strings = fresh;
    return 0;
}

static sluice_err_t nomem(memory_sink *ms, char *errstr, size_t errstr_size) {
    return sluice_seterr(errstr, errstr_size, SLUICE_ERR_NOMEM,
                         "sink %s (memory): out of memory", ms->instance);
}

/* Keyless: the first live row equal to `in` in every column, or NULL. */
static sluice_value *find_equal(memory_sink *ms, const sluice_value *in) {
    for (size_t r = 0; r < ms->nrows; r++) {
        if (ms->kinds[r] == ROW_DEAD) continue;
        sluice_value *row = ms->rows + r * ms->ncols;
        size_t j = 0;
        while (j < ms->ncols && sluice_value_equal(&row[j], &in[j])) j++;
        if (j == ms->ncols) return row;
    }
    return NULL;
}

/* Drop the rows deletes left dead, keeping the others' order, and index the
 * keys again.  Cannot fail: the slots are rebuilt in place. */
static void remove_dead(memory_sink *ms) {
    if (!ms->ndead) return;
    size_t nc = ms->ncols, kept = 0;
    for (size_t r = 0; r < ms->nrows; r++) {
        if (ms->kinds[r] == ROW_DEAD) continue;
        if (kept != r) {
            if (nc) memmove(ms->rows + kept * nc, ms->rows + r * nc, nc * sizeof *ms->rows);
            ms->kinds[kept] = ms->kinds[r];
        }
        kept++;
    }
    ms->nrows = kept;
    ms->ndead = 0;
    ms->sorted = 0;
    if (ms->nslots) {
        memset(ms->slots, 0, ms->nslots * sizeof *ms->slots);
        for (size_t r = 0; r < ms->nrows; r++) *find_slot(ms, ms->rows + r * nc) = r + 1;
    }
}

/* Mark row (a live one) removed. */
static void kill_row(memory_sink *ms, sluice_value *row) {
    size_t r = (size_t)(row - ms->rows) / (ms->ncols ? ms->ncols : 1);
    drop_strings(ms, row);
    ms->kinds[r] = ROW_DEAD;
    ms->ndead++;
}

static sluice_err_t memory_sink_write(sluice_sink *sink, int64_t epoch,
                                      const sluice_row_batch *batch,
                                      char *errstr, size_t errstr_size) {
    (void)epoch;
    memory_sink *ms = (memory_sink *)sink;
    size_t nc = ms->ncols;
    if (batch->nrows && batch->schema && batch->schema->ncolumns != nc)
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                             "sink %s (memory): rows of %zu columns, expected %zu",
                             ms->instance, batch->schema->ncolumns, nc);
    int keyed = ms->schema->npk > 0;
    sluice_err_t err = SLUICE_OK;
    for (size_t i = 0; i < batch->nrows && !err; i++) {
        const sluice_value *in = sluice_row_batch_row(batch, i);
        sluice_row_kind kind = sluice_row_batch_kind(batch, i);
        if ((unsigned)kind > SLUICE_ROW_DELETE)
            err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_INVALID,
                                "sink %s (memory): row %zu has no change kind (%d)", ms->instance, i, (int)kind);
        if (err) break;
        ms->kind_count[kind]++;
        ms->written++;
        int retract = kind == SLUICE_ROW_DELETE || kind == SLUICE_ROW_UPDATE_BEFORE;
        sluice_value *dst = NULL;
        if (keyed && retract) {
            /* an upsert sink: update-before is followed by the update-after
             * that replaces the row, so only a delete removes it */
            size_t *slot = ms->nslots ? find_slot(ms, in) : NULL;
            if (kind == SLUICE_ROW_DELETE && slot && *slot && ms->kinds[*slot - 1] != ROW_DEAD)
                kill_row(ms, ms->rows + (*slot - 1) * nc);
            continue;
        }
        if (retract) {
            sluice_value *row = find_equal(ms, in);
            if (row) kill_row(ms, row);
            continue;
        }
        if (keyed) {
            if ((ms->nrows + 1) * 2 > ms->nslots && grow_slots(ms) != 0) {
                err = nomem(ms, errstr, errstr_size);
                break;
            }
            size_t *slot = find_slot(ms, in);
            if (*slot) {
                dst = ms->rows + (*slot - 1) * nc;
                if (ms->kinds[*slot - 1] == ROW_DEAD) ms->ndead--; /* deleted, then set again */
                else drop_strings(ms, dst);
            } else {
                *slot = ms->nrows + 1;
            }
        }
        if (!dst) {
            if (ms->nrows == ms->cap) {
                size_t ncap = ms->cap ? ms->cap * 2 : 256;
                uint8_t *k = realloc(ms->kinds, ncap);
                if (k) ms->kinds = k;
                sluice_value *r = k ? realloc(ms->rows, ncap * (nc ? nc : 1) * sizeof *r) : NULL;
                if (!r) {
                    if (keyed) *find_slot(ms, in) = 0;
                    err = nomem(ms, errstr, errstr_size);
                    break;
                }
                ms->rows = r;
                ms->cap = ncap;
            }
            dst = ms->rows + ms->nrows * nc;
            ms->nrows++;
            ms->sorted = 0;
        }
        size_t r = (size_t)(dst - ms->rows) / (nc ? nc : 1);
        ms->kinds[r] = (uint8_t)kind;
        if (nc) memcpy(dst, in, nc * sizeof *dst);
        if (keep_strings(ms, dst) != 0) {
            for (size_t j = 0; j < nc; j++) dst[j] = sluice_value_null();
            err = nomem(ms, errstr, errstr_size);
        }
    }
    remove_dead(ms);
    if (!err && keyed && compact_strings(ms) != 0) err = nomem(ms, errstr, errstr_size);
    return err;
}

static int compare_keys(const void *a, const void *b, void *ctx) {
    const memory_sink *ms = ctx;
    const sluice_value *ra = ms->rows + *(const size_t *)a * ms->ncols;
    const sluice_value *rb = ms->rows + *(const size_t *)b * ms->ncols;
    for (size_t k = 0; k < ms->schema->npk; k++) {
        size_t c = ms->schema->pk[k];
        int d = sluice_value_compare(&ra[c], &rb[c]);
        if (d) return d;
    }
    return 0;
}

/* Bring order[] up to date; -1 when out of memory. */
static int sort_rows(memory_sink *ms) {
    if (ms->sorted) return 0;
    size_t *o = realloc(ms->order, (ms->nrows ? ms->nrows : 1) * sizeof *o);
    if (!o) return -1;
    ms->order = o;
    for (size_t i = 0; i < ms->nrows; i++) o[i] = i;
    if (ms->schema->npk > 0) qsort_r(o, ms->nrows, sizeof *o, compare_keys, ms);
    ms->sorted = 1;
    return 0;
}

static memory_sink *as_memory_sink(const sluice_sink *sink) {
    sink = sluice_fault_sink_unwrap(sink);
    if (!sink || sink->ops != &sluice_memory_sink_ops) return NULL;
    return (memory_sink *)sink;
}

size_t sluice_memory_sink_nrows(const sluice_sink *sink) {
    memory_sink *ms = as_memory_sink(sink);
    return ms ? ms->nrows : 0;
}

const sluice_value *sluice_memory_sink_row(const sluice_sink *sink, size_t i) {
    memory_sink *ms = as_memory_sink(sink);
    if (!ms || i >= ms->nrows || sort_rows(ms) != 0) return NULL;
    return ms->rows + ms->order[i] * ms->ncols;
}

uint64_t sluice_memory_sink_rows_written(const sluice_sink *sink) {
    memory_sink *ms = as_memory_sink(sink);
    return ms ? ms->written : 0;
}

sluice_row_kind sluice_memory_sink_row_kind(const sluice_sink *sink, size_t i) {
    memory_sink *ms = as_memory_sink(sink);
    if (!ms || i >= ms->nrows || sort_rows(ms) != 0) return SLUICE_ROW_INSERT;
    return (sluice_row_kind)ms->kinds[ms->order[i]];
}

uint64_t sluice_memory_sink_kind_count(const sluice_sink *sink, sluice_row_kind k) {
    memory_sink *ms = as_memory_sink(sink);
    return ms && (unsigned)k <= SLUICE_ROW_DELETE ? ms->kind_count[k] : 0;
}

static sluice_err_t memory_sink_report(sluice_sink *sink, FILE *out,
                                       char *errstr, size_t errstr_size) {
    memory_sink *ms = (memory_sink *)sink;
    if (sort_rows(ms) != 0) return nomem(ms, errstr, errstr_size);
    const sluice_value **rows = malloc((ms->nrows ? ms->nrows : 1) * sizeof *rows);
    if (!rows) return nomem(ms, errstr, errstr_size);
    for (size_t i = 0; i < ms->nrows; i++) rows[i] = ms->rows + ms->order[i] * ms->ncols;
    fprintf(out, "sink %s: %zu %s\n", ms->instance, ms->nrows, ms->nrows == 1 ? "row" : "rows");
    sluice_err_t err = sluice_table_print(out, ms->schema->columns, ms->ncols, rows, ms->nrows,
                                          ms->nrows);
    free(rows);
    if (err == SLUICE_ERR_NOMEM) return nomem(ms, errstr, errstr_size);
    if (err)
        return sluice_seterr(errstr, errstr_size, err, "sink %s (memory): cannot print the table",
                             ms->instance);
    return SLUICE_OK;
}

static void memory_sink_close(sluice_sink *sink) {
    if (!sink) return;
    memory_sink *ms = (memory_sink *)sink;
    free(ms->rows);
    free(ms->kinds);
    free(ms->slots);
    free(ms->order);
    sluice_arena_destroy(ms->strings);
    free(ms);
}

/** The "memory" sink connector (see the top of this file). */
const sluice_sink_ops sluice_memory_sink_ops = {
    .version = SLUICE_MODULE_VERSION,
    .name = "memory",
    .option_specs = memory_sink_specs,
    .open = memory_sink_open,
    .write = memory_sink_write,
    .commit = NULL,
    .report = memory_sink_report,
    .close = memory_sink_close,
};
