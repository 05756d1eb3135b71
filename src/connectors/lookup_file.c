/*
 * Lookup table `file` (lookup.h): a CSV (with a header line) or JSON-lines
 * file loaded whole into memory and indexed by hash on the key columns a
 * join asks with (an index per set of key columns, built at its first
 * lookup).  One row per line; empty lines are skipped; a line that does
 * not decode for the table's columns goes to the dead letter (position
 * "line N") and is left out.
 *
 * Reload: at most every `reload_interval` (processing time, checked as a
 * lookup is made), the file's modification time and size are compared
 * with those of the last load; when either changed the file is read again
 * and replaces the contents at once for the next lookups (as Flink's
 * FileSystem lookup source reloads its cache when it expires).  A file
 * that cannot be read then keeps the old contents, with a warning.  The
 * first load happens at open: a missing file is an error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/config.h"
#include "base/log.h"
#include "connectors/lookup.h"
#include "format/format.h"
#include "sluice/arena.h"

static const sluice_option_spec lookup_file_specs[] = {
    {"connector", SLUICE_OPT_ENUM, NULL, "the lookup table's connector", "file", 0, 0, SLUICE_OPT_REQUIRED},
    {"path", SLUICE_OPT_STRING, NULL, "the file to load", NULL, 0, 0, SLUICE_OPT_REQUIRED | SLUICE_OPT_FILE},
    {"format", SLUICE_OPT_ENUM, "csv", "CSV with a header line naming the columns, or JSON lines", "csv|json", 0,
     0, 0},
    {"csv.delimiter", SLUICE_OPT_CHAR, ",", "the CSV field separator", NULL, 0, 0, 0},
    {"reload_interval", SLUICE_OPT_DURATION, "10s",
     "how often, at most, the file's modification time and size are checked; a change reloads it (0: at every "
     "batch)",
     NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0},
};

#define MAX_INDEXES 8
#define MAX_INDEX_KEYS 16

/* A hash index on some key columns: chains of row numbers. */
typedef struct file_index {
    size_t cols[MAX_INDEX_KEYS];
    size_t ncols;
    uint32_t *heads;   /* nbuckets, UINT32_MAX: empty */
    uint32_t *next;    /* per row */
    size_t nbuckets;
} file_index;

/* One load of the file. */
typedef struct file_contents {
    sluice_arena *arena;  /* the rows' strings */
    sluice_value *vals;   /* nrows x width */
    size_t nrows;
    file_index idx[MAX_INDEXES];
    size_t nidx;
} file_contents;

typedef struct file_table {
    sluice_lookup_table base;
    const sluice_lookup_plan *lp;
    const char *path, *pipeline;
    int json;
    char delimiter;
    int64_t reload_ms;
    sluice_dead_letter *dlq;
    sluice_field_spec *specs;
    file_contents cur;
    int64_t last_check;
    struct timespec mtime;
    off_t size;
    uint64_t loads;
} file_table;

static void contents_free(file_contents *c) {
    sluice_arena_destroy(c->arena);
    free(c->vals);
    for (size_t i = 0; i < c->nidx; i++) {
        free(c->idx[i].heads);
        free(c->idx[i].next);
    }
    memset(c, 0, sizeof *c);
}

/* The whole file, padded with SLUICE_RECORD_PADDING zero bytes; NULL with
 * errno set. */
static char *slurp(const char *path, size_t *len, struct stat *st) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fstat(fileno(f), st) != 0) {
        fclose(f);
        return NULL;
    }
    size_t cap = (size_t)(st->st_size > 0 ? st->st_size : 0) + 4096, n = 0, r;
    char *buf = malloc(cap + SLUICE_RECORD_PADDING);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, (cap *= 2) + SLUICE_RECORD_PADDING);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        if (!buf) errno = ENOMEM;
        else errno = EIO;
        return NULL;
    }
    memset(buf + n, 0, SLUICE_RECORD_PADDING);
    *len = n;
    return buf;
}

/* Read the file into *c.  SLUICE_OK; else errstr says why. */
static sluice_err_t load(file_table *t, file_contents *c, struct stat *st, char *errstr, size_t errstr_size) {
    memset(c, 0, sizeof *c);
    size_t len;
    char *buf = slurp(t->path, &len, st);
    if (!buf)
        return sluice_seterr(errstr, errstr_size, errno == ENOMEM ? SLUICE_ERR_NOMEM : SLUICE_ERR_IO,
                             "lookup table %s: cannot read %s: %s", t->base.name, t->path, strerror(errno));
    size_t w = t->base.width;
    /* the lines */
    size_t nlines = 1;
    for (size_t i = 0; i < len; i++) nlines += buf[i] == '\n';
    sluice_err_t err = SLUICE_OK;
    sluice_decoder *dec = NULL;
    c->arena = sluice_arena_new(64 * 1024);
    c->vals = malloc((nlines + 1) * (w ? w : 1) * sizeof *c->vals);
    if (!c->arena || !c->vals) {
        err = SLUICE_ERR_NOMEM;
        goto done;
    }
    size_t pos = 0, line = 0;
    sluice_decoder_options o = {.format = t->json ? SLUICE_FORMAT_JSON : SLUICE_FORMAT_CSV,
                                .csv_delimiter = t->delimiter};
    while (pos < len) {
        size_t end = pos;
        while (end < len && buf[end] != '\n') end++;
        size_t e = end;
        if (e > pos && buf[e - 1] == '\r') e--;
        line++;
        const char *text = buf + pos;
        size_t tlen = e - pos;
        pos = end + 1;
        if (!tlen) continue;
        if (!dec) {
            if (!t->json) o.csv_header = text, o.csv_header_len = tlen;
            char why[256];
            if ((err = sluice_decoder_new(&o, t->specs, w, &dec, why, sizeof why)) != SLUICE_OK) {
                sluice_seterr(errstr, errstr_size, err, "lookup table %s: %s: %s", t->base.name, t->path, why);
                goto done;
            }
            if (!t->json) continue; /* the header line */
        }
        char reason[256];
        sluice_value *row = c->vals + c->nrows * w;
        sluice_err_t de = sluice_decoder_decode(dec, text, tlen, row, c->arena, reason, sizeof reason);
        if (de == SLUICE_OK) {
            c->nrows++;
            continue;
        }
        if (de == SLUICE_ERR_NOMEM) {
            err = de;
            goto done;
        }
        char where[64];
        snprintf(where, sizeof where, "line %zu", line);
        if (t->dlq) sluice_dead_letter_write(t->dlq, t->base.name, NULL, where, reason, text, tlen);
        sluice_log(SLUICE_LOG_WARN, t->pipeline, "lookup", t->base.name, "%s %s: %s (to the dead letter)", t->path,
                   where, reason);
    }
    if (!dec && !t->json) {
        err = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                            "lookup table %s: %s has no header line (format = csv names the columns in its first line)",
                            t->base.name, t->path);
        goto done;
    }
done:
    sluice_decoder_free(dec);
    free(buf);
    if (err == SLUICE_ERR_NOMEM) sluice_seterr(errstr, errstr_size, err, "lookup table %s: out of memory", t->base.name);
    if (err) contents_free(c);
    return err;
}

static uint64_t keys_hash(const sluice_value *keys, size_t n) {
    uint64_t h = 0x6c6f6f6b7570ULL;
    for (size_t k = 0; k < n; k++) h = sluice_value_hash(&keys[k], h);
    return h;
}

/* The index of c on cols (built now when missing), or NULL out of memory
 * or beyond MAX_INDEXES sets of key columns. */
static file_index *index_for(file_table *t, file_contents *c, const size_t *cols, size_t ncols) {
    for (size_t i = 0; i < c->nidx; i++)
        if (c->idx[i].ncols == ncols && memcmp(c->idx[i].cols, cols, ncols * sizeof *cols) == 0) return &c->idx[i];
    if (c->nidx == MAX_INDEXES || ncols > MAX_INDEX_KEYS) return NULL;
    file_index *x = &c->idx[c->nidx];
    memset(x, 0, sizeof *x);
    memcpy(x->cols, cols, ncols * sizeof *cols);
    x->ncols = ncols;
    x->nbuckets = 16;
    while (x->nbuckets < 2 * c->nrows) x->nbuckets *= 2;
    x->heads = malloc(x->nbuckets * sizeof *x->heads);
    x->next = malloc((c->nrows + 1) * sizeof *x->next);
    if (!x->heads || !x->next) {
        free(x->heads);
        free(x->next);
        return NULL;
    }
    memset(x->heads, 0xff, x->nbuckets * sizeof *x->heads);
    size_t w = t->base.width;
    sluice_value key[MAX_INDEX_KEYS];
    /* inserted from the last row, so that each chain lists rows in file order */
    for (size_t r = c->nrows; r-- > 0;) {
        for (size_t k = 0; k < ncols; k++) key[k] = c->vals[r * w + cols[k]];
        size_t b = keys_hash(key, ncols) & (x->nbuckets - 1);
        x->next[r] = x->heads[b];
        x->heads[b] = (uint32_t)r;
    }
    c->nidx++;
    return x;
}

/* Reload when the file changed and the interval has passed. */
static void maybe_reload(file_table *t, int64_t now) {
    if (now - t->last_check < t->reload_ms) return;
    t->last_check = now;
    struct stat st;
    if (stat(t->path, &st) != 0) {
        sluice_log(SLUICE_LOG_WARN, t->pipeline, "lookup", t->base.name, "cannot stat %s: %s (keeping the rows loaded)",
                   t->path, strerror(errno));
        return;
    }
    if (st.st_mtim.tv_sec == t->mtime.tv_sec && st.st_mtim.tv_nsec == t->mtime.tv_nsec && st.st_size == t->size)
        return;
    file_contents c;
    char err[512];
    if (load(t, &c, &st, err, sizeof err) != SLUICE_OK) {
        sluice_log(SLUICE_LOG_WARN, t->pipeline, "lookup", t->base.name, "%s (keeping the rows loaded)", err);
        return;
    }
    contents_free(&t->cur);
    t->cur = c;
    t->mtime = st.st_mtim;
    t->size = st.st_size;
    t->loads++;
    sluice_log(SLUICE_LOG_INFO, t->pipeline, "lookup", t->base.name, "reloaded %s: %zu rows", t->path, c.nrows);
}

static sluice_err_t file_lookup(sluice_lookup_table *base, const size_t *key_cols, size_t nkeycols,
                                const sluice_value *keys, size_t n, int64_t now_ms, sluice_lookup_result *out,
                                char *err, size_t err_size) {
    file_table *t = (file_table *)base;
    maybe_reload(t, now_ms);
    out->nrows = 0;
    if (sluice_lookup_result_reserve(out, n, 0) != 0) return SLUICE_ERR_NOMEM;
    file_contents *c = &t->cur;
    file_index *x = index_for(t, c, key_cols, nkeycols);
    if (!x) {
        if (nkeycols > MAX_INDEX_KEYS || c->nidx == MAX_INDEXES)
            return sluice_seterr(err, err_size, SLUICE_ERR_INVALID, "more than %d key columns or sets of them",
                                 nkeycols > MAX_INDEX_KEYS ? MAX_INDEX_KEYS : MAX_INDEXES);
        return SLUICE_ERR_NOMEM;
    }
    size_t w = base->width;
    for (size_t i = 0; i < n; i++) {
        const sluice_value *k = keys + i * nkeycols;
        out->first[i] = out->nrows;
        out->count[i] = 0;
        size_t b = keys_hash(k, nkeycols) & (x->nbuckets - 1);
        for (uint32_t r = x->heads[b]; r != UINT32_MAX; r = x->next[r]) {
            const sluice_value *row = c->vals + (size_t)r * w;
            size_t j = 0;
            while (j < nkeycols && sluice_value_equal(&row[key_cols[j]], &k[j])) j++;
            if (j < nkeycols) continue;
            if (sluice_lookup_result_reserve(out, n, 1) != 0) return SLUICE_ERR_NOMEM;
            out->rows[out->nrows++] = row;
            out->count[i]++;
        }
    }
    return SLUICE_OK;
}

static void file_close(sluice_lookup_table *base) {
    file_table *t = (file_table *)base;
    contents_free(&t->cur);
    free(t->specs);
    free(t);
}

static sluice_err_t file_open(const sluice_lookup_plan *lp, const sluice_option *opts, size_t n,
                              const char *const *shared, const char *pipeline, sluice_dead_letter *dlq,
                              sluice_lookup_table **out, char *errstr, size_t errstr_size) {
    (void)shared;
    const sluice_option *o;
    file_table *t = calloc(1, sizeof *t);
    if (!t) return SLUICE_ERR_NOMEM;
    t->base.name = lp->table_name;
    t->base.width = lp->table_width;
    t->base.lookup = file_lookup;
    t->base.close = file_close;
    t->lp = lp;
    t->pipeline = pipeline;
    t->dlq = dlq;
    t->delimiter = ',';
    t->reload_ms = 10000;
    t->last_check = INT64_MIN / 2;
    if ((o = sluice_lookup_option(opts, n, "path"))) t->path = o->value;
    if ((o = sluice_lookup_option(opts, n, "format"))) t->json = strcmp(o->value, "json") == 0;
    if ((o = sluice_lookup_option(opts, n, "csv.delimiter")))
        t->delimiter = strcmp(o->value, "\\t") == 0 ? '\t' : o->value[0];
    if ((o = sluice_lookup_option(opts, n, "reload_interval"))) sluice_parse_duration_ms(o->value, &t->reload_ms);
    t->specs = calloc(lp->table_width + 1, sizeof *t->specs);
    if (!t->specs) {
        file_close(&t->base);
        return SLUICE_ERR_NOMEM;
    }
    for (size_t i = 0; i < lp->table_width; i++) {
        const sluice_source_plan *sp = lp->table;
        t->specs[i].name = sp->columns[i].name;
        t->specs[i].path = sp->defs[i].path;
        t->specs[i].type = sp->columns[i].type;
        t->specs[i].elem_type = sp->defs[i].elem_type;
        t->specs[i].ts_format = sp->ts_formats[i];
        if (!t->json && sp->columns[i].type == SLUICE_TYPE_ARRAY) {
            file_close(&t->base);
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "lookup table %s: column %s is an ARRAY, which format = csv cannot hold",
                                 lp->table_name, sp->columns[i].name);
        }
    }
    struct stat st;
    sluice_err_t err = load(t, &t->cur, &st, errstr, errstr_size);
    if (err) {
        file_close(&t->base);
        return err;
    }
    t->mtime = st.st_mtim;
    t->size = st.st_size;
    t->loads = 1;
    *out = &t->base;
    return SLUICE_OK;
}

const sluice_lookup_connector sluice_lookup_file = {
    .name = "file",
    .description = "a CSV or JSON-lines file loaded whole into memory, reloaded when it changes",
    .option_specs = lookup_file_specs,
    .open = file_open,
};
