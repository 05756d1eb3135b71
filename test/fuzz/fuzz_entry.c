#include "fuzz_entry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "exec/engine.h"
#include "plan/plan.h"
#include "format/format.h"
#include "sluice/arena.h"
#include "sluice/batch.h"
#include "sql/parser.h"
#include "sql/unparse.h"
#include "state/checkpoint.h"
#include "state/codec.h"

#include <zlib.h>

/* ---------------- SQL ---------------- */

static FILE *devnull(void) {
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f;
}


/* The plan of SQL text `src` as sluice explain prints it: a malloc'ed
 * string, or NULL when the text does not parse or plan (or out of memory).
 * The AST, when wanted, stays in `arena`. */
static char *explain_text(const char *src, size_t len, sluice_arena *arena, sluice_ast_pipeline **ast_out) {
    char errstr[512];
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(src, len, "fuzz.sql", arena, &ast, errstr, sizeof errstr) != SLUICE_OK) return NULL;
    if (ast_out) *ast_out = ast;
    sluice_plan *plan = NULL;
    if (sluice_plan_build(ast, &plan, errstr, sizeof errstr) != SLUICE_OK) return NULL;
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    if (out) {
        sluice_plan_explain(plan, out);
        if (fclose(out) != 0) {
            free(text);
            text = NULL;
        }
    }
    sluice_plan_free(plan);
    return text;
}

/* Whether two strings are equal, either may be NULL. */
static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Whether two expression trees are the same, positions aside (explain does
 * not show every expression, e.g. the projections, so the round trip also
 * compares the trees). */
static int same_expr(const sluice_ast *a, const sluice_ast *b) {
    if (!a || !b) return a == b;
    if (a->kind != b->kind || a->op != b->op || a->negated != b->negated || !same_str(a->name, b->name) ||
        a->cast_type != b->cast_type || a->star != b->star || a->has_operand != b->has_operand ||
        a->has_else != b->has_else || a->nwhen != b->nwhen || a->nargs != b->nargs || a->lit.type != b->lit.type ||
        a->distinct != b->distinct || !same_expr(a->filter, b->filter))
        return 0;
    if (a->lit.type == SLUICE_TYPE_VARCHAR &&
        (a->lit.len != b->lit.len || memcmp(a->lit.u.s, b->lit.u.s, a->lit.len) != 0))
        return 0;
    if (a->lit.type == SLUICE_TYPE_DOUBLE && a->lit.u.d != b->lit.u.d) return 0;
    if (a->lit.type != SLUICE_TYPE_VARCHAR && a->lit.type != SLUICE_TYPE_DOUBLE && a->lit.u.i != b->lit.u.i)
        return 0;
    for (size_t i = 0; i < a->nargs; i++)
        if (!same_expr(a->args[i], b->args[i])) return 0;
    return 1;
}

/* Whether two parsed pipelines are the same, positions aside; NULL, or
 * what differs first. */
static const char *pipeline_diff(const sluice_ast_pipeline *a, const sluice_ast_pipeline *b) {
    if (a->nsources != b->nsources || a->nsinks != b->nsinks || a->nfunctions != b->nfunctions)
        return "the number of sources, sinks or functions";
    for (size_t i = 0; i < a->nfunctions; i++) {
        const sluice_ast_function *x = &a->functions[i], *y = &b->functions[i];
        if (!same_str(x->name, y->name) || x->nargs != y->nargs || x->returns != y->returns ||
            x->deterministic != y->deterministic)
            return "a function";
        for (size_t j = 0; j < x->nargs; j++)
            if (!same_str(x->arg_names[j], y->arg_names[j]) || x->arg_types[j] != y->arg_types[j])
                return "a function argument";
    }
    for (size_t i = 0; i < a->nsources; i++) {
        const sluice_ast_source *x = &a->sources[i], *y = &b->sources[i];
        if (!same_str(x->name, y->name) || x->ncolumns != y->ncolumns || x->has_watermark != y->has_watermark ||
            !same_str(x->watermark_column, y->watermark_column) || !same_expr(x->watermark_expr, y->watermark_expr))
            return "a source";
        for (size_t j = 0; j < x->ncolumns; j++) {
            const sluice_ast_column_def *c = &x->columns[j], *d = &y->columns[j];
            if (!same_str(c->name, d->name) || c->type != d->type || !same_str(c->format, d->format) ||
                !same_str(c->path, d->path) || !same_str(c->metadata, d->metadata))
                return "a source column";
        }
    }
    for (size_t i = 0; i < a->nsinks; i++) {
        const sluice_ast_sink *x = &a->sinks[i], *y = &b->sinks[i];
        if (!same_str(x->name, y->name) || x->nprimary_key != y->nprimary_key || x->nitems != y->nitems ||
            !same_str(x->from, y->from) || !same_expr(x->where, y->where) || x->ngroup_by != y->ngroup_by ||
            !same_expr(x->having, y->having) || !same_expr(x->order_by, y->order_by) ||
            x->order_desc != y->order_desc || x->limit != y->limit || x->emit != y->emit)
            return "a sink's clauses";
        for (size_t j = 0; j < x->nprimary_key; j++)
            if (!same_str(x->primary_key[j], y->primary_key[j])) return "a sink's primary key";
        for (size_t j = 0; j < x->nitems; j++)
            if (!same_expr(x->items[j].expr, y->items[j].expr) || !same_str(x->items[j].alias, y->items[j].alias))
                return "a select item";
        for (size_t j = 0; j < x->ngroup_by; j++)
            if (!same_expr(x->group_by[j], y->group_by[j])) return "a GROUP BY key";
    }
    return NULL;
}

int sluice_fuzz_sql_roundtrip(const char *src, size_t len, char *why, size_t why_size) {
    int rc = 0;
    char *once = NULL, *twice = NULL, *plan1 = NULL, *plan2 = NULL;
    size_t once_len = 0, twice_len = 0;
    sluice_arena *arena = sluice_arena_new(0);
    sluice_ast_pipeline *ast = NULL, *ast2 = NULL;
    if (!arena || !(plan1 = explain_text(src, len, arena, &ast))) goto out;
    if (!(once = sluice_sql_unparse(ast, &once_len))) goto out;
    rc = -1;
    if (!(plan2 = explain_text(once, once_len, arena, &ast2))) {
        if (!ast2) snprintf(why, why_size, "the unparsed text does not parse:\n%s", once);
        else snprintf(why, why_size, "the unparsed text does not plan:\n%s", once);
        goto out;
    }
    const char *diff = pipeline_diff(ast, ast2);
    if (diff) {
        snprintf(why, why_size, "the unparsed text parses to another tree (%s differs):\n%s", diff, once);
        goto out;
    }
    if (strcmp(plan1, plan2) != 0) {
        snprintf(why, why_size, "the unparsed text plans differently:\n%s\n-- plan of the input:\n%s\n-- plan of the text:\n%s",
                 once, plan1, plan2);
        goto out;
    }
    if (!(twice = sluice_sql_unparse(ast2, &twice_len))) {
        rc = 0;
        goto out;
    }
    if (once_len != twice_len || memcmp(once, twice, once_len) != 0) {
        snprintf(why, why_size, "unparse is not a fixed point:\n%s\n-- unparsed again:\n%s", once, twice);
        goto out;
    }
    rc = 1;
out:
    free(once);
    free(twice);
    free(plan1);
    free(plan2);
    sluice_arena_destroy(arena);
    return rc;
}

int sluice_fuzz_sql(const uint8_t *data, size_t size) {
    char *src = malloc(size ? size : 1);
    if (!src) return 0;
    if (size) memcpy(src, data, size);
    static char why[16384];
    /* the explain of an unplannable input is left to the planner's own
     * paths; a planned input must survive unparse and parse unchanged */
    if (sluice_fuzz_sql_roundtrip(src, size, why, sizeof why) < 0) {
        fprintf(stderr, "fuzz_sql: %s\n", why);
        abort();
    }
    free(src);
    return 0;
}

/* ---------------- INI ---------------- */

/* libinih's line buffer (INI_MAX_LINE in ini.h, with the line break and
 * the NUL): a longer line is cut, so the serializer does not write one. */
#define INI_LINE_MAX 200

/* Whether libinih reads `key=value` back as `key` and `value`: it strips
 * white space around both and ends the value at a ';' that follows white
 * space (an inline comment).  A key with white space at its end comes from
 * a continuation line after a key longer than libinih's 50-byte name
 * buffer (the key is cut there).  NULL, or why the entry cannot be
 * written. */
static const char *ini_unwritable(const char *key, const char *value) {
    size_t k = strlen(key);
    if (k && (isspace((unsigned char)key[0]) || isspace((unsigned char)key[k - 1])))
        return "white space around the key";
    size_t n = strlen(value);
    if (n && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[n - 1])))
        return "white space around the value";
    for (size_t i = 1; i < n; i++)
        if (value[i] == ';' && isspace((unsigned char)value[i - 1])) return "an inline comment in the value";
    return NULL;
}

/* The entries of `cfg` as INI text: a [section] header where the section
 * changes, then `key=value` lines with '$' written "$$" (the loader expands
 * ${VAR}).  Returns the malloc'ed text, or NULL with *why set when an entry
 * cannot be written so that it loads back the same (or out of memory). */
static char *ini_serialize(const sluice_config *cfg, size_t *len, const char **why) {
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    *why = "out of memory";
    if (!out) return NULL;
    const char *section = NULL;
    *why = NULL;
    for (size_t i = 0; i < cfg->nentries && !*why; i++) {
        const sluice_config_entry *e = &cfg->entries[i];
        if ((*why = ini_unwritable(e->key, e->value))) break;
        if (!section || strcmp(section, e->section) != 0) fprintf(out, "[%s]\n", e->section);
        section = e->section;
        size_t line = strlen(e->key) + 1;
        fprintf(out, "%s=", e->key);
        for (const char *v = e->value; *v; v++, line++) {
            if (*v == '$') fputc('$', out), line++;
            fputc(*v, out);
        }
        fputc('\n', out);
        if (line + 2 > INI_LINE_MAX) *why = "a line longer than the INI reader takes";
    }
    if (fclose(out) != 0 && !*why) *why = "out of memory";
    if (*why) {
        free(buf);
        return NULL;
    }
    return buf;
}

int sluice_fuzz_ini_roundtrip(const char *text, size_t len, char *why, size_t why_size) {
    char errstr[512];
    sluice_config *cfg = NULL, *again = NULL;
    if (sluice_config_load_string(text, len, "fuzz.ini", &cfg, errstr, sizeof errstr) != SLUICE_OK) return 0;
    size_t n = 0;
    const char *unwritable = NULL;
    char *ini = ini_serialize(cfg, &n, &unwritable);
    int rc = 0;
    if (!ini) goto out;
    rc = -1;
    if (sluice_config_load_string(ini, n, "again.ini", &again, errstr, sizeof errstr) != SLUICE_OK) {
        snprintf(why, why_size, "the serialized profile does not load (%s):\n%s", errstr, ini);
        goto out;
    }
    if (again->nentries != cfg->nentries) {
        snprintf(why, why_size, "%zu entries loaded, %zu after serializing:\n%s", cfg->nentries, again->nentries,
                 ini);
        goto out;
    }
    for (size_t i = 0; i < cfg->nentries; i++) {
        const sluice_config_entry *a = &cfg->entries[i], *b = &again->entries[i];
        if (strcmp(a->section, b->section) || strcmp(a->key, b->key) || strcmp(a->value, b->value)) {
            snprintf(why, why_size, "entry %zu [%s] %s=%s reloads as [%s] %s=%s:\n%s", i + 1, a->section, a->key,
                     a->value, b->section, b->key, b->value, ini);
            goto out;
        }
    }
    rc = 1;
out:
    free(ini);
    sluice_config_free(again);
    sluice_config_free(cfg);
    return rc;
}

int sluice_fuzz_ini(const uint8_t *data, size_t size) {
    char errstr[512];
    static char why[16384];
    if (sluice_fuzz_ini_roundtrip((const char *)data, size, why, sizeof why) < 0) {
        fprintf(stderr, "fuzz_ini: %s\n", why);
        abort();
    }
    sluice_config *cfg = NULL;
    if (sluice_config_load_string((const char *)data, size, "fuzz.ini", &cfg, errstr, sizeof errstr) !=
        SLUICE_OK)
        return 0;
    sluice_config *over = sluice_config_new_empty();
    for (size_t i = 0; i < cfg->nentries; i++) {
        const sluice_config_entry *e = &cfg->entries[i];
        int64_t n;
        int b;
        (void)sluice_parse_duration_ms(e->value, &n);
        (void)sluice_parse_positive(e->value, &n);
        (void)sluice_parse_bool(e->value, &b);
        (void)sluice_config_find(cfg, e->section, e->key);
        size_t len = strlen(e->section) + strlen(e->key) + strlen(e->value) + 3;
        char *assignment = malloc(len);
        if (over && assignment) {
            snprintf(assignment, len, "%s.%s=%s", e->section, e->key, e->value);
            (void)sluice_config_set(over, assignment, errstr, sizeof errstr);
        }
        free(assignment);
    }
    sluice_config_free(over);
    sluice_config_free(cfg);
    return 0;
}

/* ---------------- decoders ---------------- */

#define MAX_FIELDS 12

typedef struct column_def {
    const char *name, *path;
    sluice_type_t type;
    const char *ts_format; /* NULL: ISO-8601 */
} column_def;

typedef struct decoder_def {
    column_def cols[MAX_FIELDS];
    char delimiter;
} decoder_def;

typedef struct fuzz_decoder {
    sluice_field_spec specs[MAX_FIELDS];
    sluice_ts_format *formats[MAX_FIELDS];
    size_t nfields;
    sluice_decoder_options opts;
    sluice_decoder *dec;
} fuzz_decoder;

static size_t ncolumns(const decoder_def *def) {
    size_t n = 0;
    while (n < MAX_FIELDS && def->cols[n].name) n++;
    return n;
}

static void fuzz_decoder_free(fuzz_decoder *fd) {
    sluice_decoder_free(fd->dec);
    for (size_t i = 0; i < fd->nfields; i++) sluice_ts_format_free(fd->formats[i]);
    memset(fd, 0, sizeof *fd);
}

/* 0 on success; -1 when the decoder is not made (e.g. a header without
 * the columns). */
static int fuzz_decoder_init(fuzz_decoder *fd, const decoder_def *def, sluice_format_kind format,
                             const char *header, size_t header_len) {
    char errstr[512];
    memset(fd, 0, sizeof *fd);
    fd->nfields = ncolumns(def);
    for (size_t i = 0; i < fd->nfields; i++) {
        const column_def *c = &def->cols[i];
        fd->specs[i].name = c->name;
        fd->specs[i].path = c->path;
        fd->specs[i].type = c->type;
        if (c->ts_format &&
            sluice_ts_format_compile(c->ts_format, &fd->formats[i], errstr, sizeof errstr) != SLUICE_OK)
            abort();
        fd->specs[i].ts_format = fd->formats[i];
    }
    fd->opts.format = format;
    fd->opts.csv_delimiter = def->delimiter;
    fd->opts.csv_header = header;
    fd->opts.csv_header_len = header_len;
    if (sluice_decoder_new(&fd->opts, fd->specs, fd->nfields, &fd->dec, errstr, sizeof errstr) !=
        SLUICE_OK) {
        fuzz_decoder_free(fd);
        return -1;
    }
    return 0;
}

static void decode_one(fuzz_decoder *fd, const char *data, size_t len, sluice_arena *arena) {
    sluice_value out[MAX_FIELDS];
    char reason[512];
    char rendered[64];
    if (sluice_decoder_decode(fd->dec, data, len, out, arena, reason, sizeof reason) != SLUICE_OK)
        return;
    for (size_t i = 0; i < fd->nfields; i++) {
        if (out[i].type != SLUICE_TYPE_NULL && out[i].type != fd->specs[i].type) abort();
        (void)sluice_value_render(&out[i], rendered, sizeof rendered);
    }
}

/* A copy of len bytes followed by SLUICE_RECORD_PADDING zero bytes, as the
 * sources hand records to the decoders. */
static char *padded_copy(const char *data, size_t len) {
    char *buf = malloc(len + SLUICE_RECORD_PADDING);
    if (!buf) return NULL;
    if (len) memcpy(buf, data, len);
    memset(buf + len, 0, SLUICE_RECORD_PADDING);
    return buf;
}

/* ---------------- JSON ---------------- */

static const decoder_def json_defs[] = {
    {{{"date", NULL, SLUICE_TYPE_TIMESTAMP, "%Y/%m/%d %H:%M"},
      {"delay", NULL, SLUICE_TYPE_BIGINT, NULL},
      {"distance", NULL, SLUICE_TYPE_DOUBLE, NULL},
      {"origin", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"destination", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"ok", NULL, SLUICE_TYPE_BOOLEAN, NULL},
      {"ts", NULL, SLUICE_TYPE_TIMESTAMP, NULL}},
     0},
    {{{"time", "$.properties.time", SLUICE_TYPE_TIMESTAMP, "epoch_ms"},
      {"id", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"place", "$.properties.place", SLUICE_TYPE_VARCHAR, NULL},
      {"mag", "$.properties.mag", SLUICE_TYPE_DOUBLE, NULL},
      {"depth", "$.geometry.coordinates[2]", SLUICE_TYPE_DOUBLE, NULL},
      {"tsunami", "$.properties.tsunami", SLUICE_TYPE_BOOLEAN, NULL},
      {"sig", "$.properties.sig", SLUICE_TYPE_BIGINT, NULL},
      {"updated", "$['properties']['updated']", SLUICE_TYPE_TIMESTAMP, "epoch_s"},
      {"type", NULL, SLUICE_TYPE_VARCHAR, NULL}},
     0},
    /* the same keys under other types: objects, arrays and numbers as
     * VARCHAR, text into numbers, a strptime fallback directive */
    {{{"date", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"delay", NULL, SLUICE_TYPE_BOOLEAN, NULL},
      {"distance", NULL, SLUICE_TYPE_TIMESTAMP, "epoch_ms"},
      {"origin", NULL, SLUICE_TYPE_BIGINT, NULL},
      {"destination", NULL, SLUICE_TYPE_TIMESTAMP, "%Y-%j"},
      {"properties", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"geometry", NULL, SLUICE_TYPE_DOUBLE, NULL},
      {"coords", "$.geometry.coordinates", SLUICE_TYPE_VARCHAR, NULL},
      {"first", "$.a[0].b", SLUICE_TYPE_VARCHAR, NULL},
      {"dotted", "$['a.b']", SLUICE_TYPE_DOUBLE, NULL},
      {"id", NULL, SLUICE_TYPE_TIMESTAMP, NULL},
      {"ok", NULL, SLUICE_TYPE_VARCHAR, NULL}},
     0},
};
#define NJSON (sizeof json_defs / sizeof json_defs[0])

static fuzz_decoder json_decoders[NJSON];
static sluice_arena *json_arena;

static void json_cleanup(void) {
    for (size_t i = 0; i < NJSON; i++) fuzz_decoder_free(&json_decoders[i]);
    sluice_arena_destroy(json_arena);
    json_arena = NULL;
}

int sluice_fuzz_json(const uint8_t *data, size_t size) {
    if (!json_arena) {
        for (size_t i = 0; i < NJSON; i++)
            if (fuzz_decoder_init(&json_decoders[i], &json_defs[i], SLUICE_FORMAT_JSON, NULL, 0) != 0)
                abort();
        json_arena = sluice_arena_new(0);
        if (!json_arena) abort();
        atexit(json_cleanup);
    }
    char *buf = padded_copy((const char *)data, size);
    if (!buf) return 0;
    for (size_t i = 0; i < NJSON; i++) {
        decode_one(&json_decoders[i], buf, size, json_arena);
        sluice_arena_reset(json_arena);
    }
    free(buf);
    return 0;
}

/* ---------------- CSV ---------------- */

static const decoder_def csv_positional[] = {
    {{{"symbol", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"date", NULL, SLUICE_TYPE_TIMESTAMP, "%b %d %Y"},
      {"price", NULL, SLUICE_TYPE_DOUBLE, NULL},
      {"volume", NULL, SLUICE_TYPE_BIGINT, NULL},
      {"ok", NULL, SLUICE_TYPE_BOOLEAN, NULL},
      {"ts", NULL, SLUICE_TYPE_TIMESTAMP, NULL},
      {"ms", NULL, SLUICE_TYPE_TIMESTAMP, "epoch_ms"}},
     ','},
    {{{"date", NULL, SLUICE_TYPE_TIMESTAMP, NULL},
      {"open", NULL, SLUICE_TYPE_DOUBLE, NULL},
      {"high", NULL, SLUICE_TYPE_BIGINT, NULL},
      {"low", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"close", NULL, SLUICE_TYPE_TIMESTAMP, "epoch_s"},
      {"adjclose", NULL, SLUICE_TYPE_TIMESTAMP, "%d/%m/%Y %H:%M:%S"},
      {"volume", NULL, SLUICE_TYPE_BOOLEAN, NULL}},
     ';'},
};

static const decoder_def csv_headed[] = {
    {{{"symbol", NULL, SLUICE_TYPE_VARCHAR, NULL},
      {"date", NULL, SLUICE_TYPE_TIMESTAMP, "%b %d %Y"},
      {"price", NULL, SLUICE_TYPE_DOUBLE, NULL}},
     ','},
    {{{"volume", NULL, SLUICE_TYPE_BIGINT, NULL},
      {"date", NULL, SLUICE_TYPE_TIMESTAMP, NULL},
      {"close", NULL, SLUICE_TYPE_DOUBLE, NULL}},
     ','},
    {{{"price", NULL, SLUICE_TYPE_VARCHAR, NULL}}, '\t'},
};

#define NPOS (sizeof csv_positional / sizeof csv_positional[0])
#define NHEAD (sizeof csv_headed / sizeof csv_headed[0])

int sluice_fuzz_csv(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t header_len = nl ? (size_t)(nl - text) : size;
    fuzz_decoder decoders[NPOS + NHEAD];
    size_t n = 0;
    for (size_t i = 0; i < NPOS; i++)
        if (fuzz_decoder_init(&decoders[n], &csv_positional[i], SLUICE_FORMAT_CSV, NULL, 0) == 0) n++;
    char *header = padded_copy(text, header_len);
    if (header)
        for (size_t i = 0; i < NHEAD; i++)
            if (fuzz_decoder_init(&decoders[n], &csv_headed[i], SLUICE_FORMAT_CSV, header,
                                  header_len) == 0)
                n++;
    sluice_arena *arena = sluice_arena_new(0);
    const char *p = text, *end = text + size;
    while (arena && p <= end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
        char *rec = padded_copy(p, len);
        if (!rec) break;
        for (size_t i = 0; i < n; i++) {
            decode_one(&decoders[i], rec, len, arena);
            sluice_arena_reset(arena);
        }
        free(rec);
        if (!e) break;
        p = e + 1;
    }
    sluice_arena_destroy(arena);
    for (size_t i = 0; i < n; i++) fuzz_decoder_free(&decoders[i]);
    free(header);
    return 0;
}

/* ---------------- checkpoint records ---------------- */

/* Read a payload the way a recovery would, driven by the payload itself:
 * each step's first byte picks the next read.  A value that decodes must
 * encode back to the very bytes it was read from. */
static void decode_payload(const void *payload, size_t len, sluice_arena *arena) {
    sluice_dec d;
    char rendered[64];
    sluice_dec_init(&d, payload, len);
    while (!d.bad && d.pos < d.len) {
        size_t blen;
        switch (sluice_dec_u8(&d) % 7) {
        case 0: (void)sluice_dec_u8(&d); break;
        case 1: (void)sluice_dec_u32(&d); break;
        case 2: (void)sluice_dec_i64(&d); break;
        case 3: (void)sluice_dec_f64(&d); break;
        case 4: {
            const unsigned char *b = sluice_dec_bytes(&d, &blen);
            if (b && blen && (b < d.p || b + blen > d.p + d.len)) abort();
            break;
        }
        case 5: {
            char *str = sluice_dec_str(&d, arena);
            if (str) (void)strlen(str);
            break;
        }
        default: {
            size_t start = d.pos;
            sluice_value v = sluice_dec_value(&d, arena);
            if (d.bad) break;
            (void)sluice_value_render(&v, rendered, sizeof rendered);
            sluice_enc e = {0};
            sluice_enc_value(&e, &v);
            if (!e.oom && (e.len != d.pos - start || memcmp(e.data, d.p + start, e.len) != 0)) abort();
            free(e.data);
            break;
        }
        }
    }
}

static void put_le(unsigned char *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int sluice_fuzz_checkpoint(const uint8_t *data, size_t size) {
    sluice_arena *arena = sluice_arena_new(0);
    if (!arena) return 0;
    sluice_ckpt_kind kind;
    int64_t epoch;
    const void *payload;
    size_t len;
    /* the input as a whole checkpoint file */
    if (sluice_ckpt_parse(data, size, &kind, &epoch, &payload, &len) == 0) {
        if ((const uint8_t *)payload < data || len > size || (const uint8_t *)payload + len > data + size)
            abort();
        decode_payload(payload, len, arena);
        sluice_arena_reset(arena);
    }
    /* the input as the payload of an intact record */
    enum { HEADER = 28, TRAILER = 4 };
    unsigned char *rec = malloc(HEADER + size + TRAILER);
    if (rec) {
        memcpy(rec, "SLCK", 4);
        put_le(rec + 4, SLUICE_CKPT_VERSION, 4);
        put_le(rec + 8, SLUICE_CKPT_STATE, 4);
        put_le(rec + 12, (uint64_t)(int64_t)size, 8);
        put_le(rec + 20, size, 8);
        if (size) memcpy(rec + HEADER, data, size);
        put_le(rec + HEADER + size, (uint32_t)crc32(0L, rec, (uInt)(HEADER + size)), 4);
        if (sluice_ckpt_parse(rec, HEADER + size + TRAILER, &kind, &epoch, &payload, &len) != 0 ||
            kind != SLUICE_CKPT_STATE || epoch != (int64_t)size || len != size || payload != rec + HEADER)
            abort();
        decode_payload(payload, len, arena);
        /* the same record cut short or with one bit flipped is refused */
        if (sluice_ckpt_parse(rec, HEADER + size + TRAILER - 1, &kind, &epoch, &payload, &len) == 0) abort();
        rec[HEADER + size / 2] ^= 0x10;
        if (sluice_ckpt_parse(rec, HEADER + size + TRAILER, &kind, &epoch, &payload, &len) == 0) abort();
        free(rec);
    }
    sluice_arena_destroy(arena);
    return 0;
}

/* ---------------- engine restore ---------------- */

/* A fixed pipeline with every kind of state: unwindowed, TUMBLE with
 * every aggregate, HOP, SESSION and top-N. */
static const char restore_sql[] =
    "CREATE SOURCE ev (ts TIMESTAMP, k VARCHAR, v BIGINT, x DOUBLE, b BOOLEAN,\n"
    "                  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE);\n"
    "CREATE SINK total AS SELECT k, COUNT(*) AS n, SUM(v) AS s, MAX(b) AS mb FROM ev GROUP BY k EMIT UPDATE;\n"
    "CREATE SINK tumble AS SELECT window_start, k, COUNT(v) AS n, SUM(x) AS s, AVG(v) AS a, MIN(k) AS lo,\n"
    "  MAX(x) AS hi FROM ev GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK hop AS SELECT window_start, k, v, COUNT(*) AS n FROM ev\n"
    "  GROUP BY HOP(ts, INTERVAL '5' MINUTE, INTERVAL '10' MINUTE), k, v EMIT UPDATE;\n"
    "CREATE SINK ses AS SELECT window_start, window_end, k, COUNT(*) AS n, MAX(k) AS mk, SUM(v) AS s FROM ev\n"
    "  GROUP BY SESSION(ts, INTERVAL '2' MINUTE), k EMIT APPEND;\n"
    "CREATE SINK top AS SELECT window_start, rank, k, SUM(v) AS s FROM ev\n"
    "  GROUP BY TUMBLE(ts, INTERVAL '10' MINUTE), k ORDER BY SUM(v) DESC LIMIT 2 EMIT UPDATE;\n";

static const char *const restore_rows[] = {
    "{\"ts\":\"2001-01-01 00:01:00\",\"k\":\"a\",\"v\":1,\"x\":0.5,\"b\":true}",
    "{\"ts\":\"2001-01-01 00:04:00\",\"k\":\"b\",\"v\":-7,\"x\":2.5,\"b\":false}",
    "{\"ts\":\"2001-01-01 00:09:30\",\"k\":\"a\",\"v\":3}",
    "{\"ts\":\"2001-01-01 00:12:00\",\"k\":\"c\",\"x\":-1}",
    "{\"ts\":\"2001-01-01 00:02:00\",\"v\":5}",
    "{\"ts\":\"2001-01-01 00:30:00\",\"k\":\"b\",\"v\":9,\"b\":true}",
};

typedef struct restore_fixture {
    sluice_arena *arena;
    sluice_plan *plan;
    sluice_record recs[sizeof restore_rows / sizeof *restore_rows];
    char text[sizeof restore_rows / sizeof *restore_rows][160 + SLUICE_RECORD_PADDING];
} restore_fixture;

/* The plan, planned once (the engine borrows it; libFuzzer never exits
 * through main, so it lives until the process ends). */
static restore_fixture *restore_fixture_get(void) {
    static restore_fixture *fx;
    if (fx) return fx;
    fx = calloc(1, sizeof *fx);
    if (!fx || !(fx->arena = sluice_arena_new(0))) abort();
    char errstr[512];
    sluice_ast_pipeline *ast = NULL;
    if (sluice_sql_parse(restore_sql, strlen(restore_sql), "restore.sql", fx->arena, &ast, errstr, sizeof errstr) !=
            SLUICE_OK ||
        sluice_plan_build(ast, &fx->plan, errstr, sizeof errstr) != SLUICE_OK) {
        fprintf(stderr, "fuzz_restore: %s\n", errstr);
        abort();
    }
    for (size_t i = 0; i < sizeof restore_rows / sizeof *restore_rows; i++) {
        size_t n = strlen(restore_rows[i]);
        memcpy(fx->text[i], restore_rows[i], n);
        fx->recs[i].value = fx->text[i];
        fx->recs[i].value_len = n;
        fx->recs[i].offset = (int64_t)i + 1;
    }
    return fx;
}

static int64_t restore_clock(void *ctx) {
    (void)ctx;
    return INT64_C(978307200000); /* 2001-01-01: no wall clock in a fuzz run */
}

/* Render every row of out (what a sink would write), so that a value whose
 * type does not match its column shows. */
static void render_rows(const sluice_row_batch *out) {
    FILE *f = devnull();
    if (!f) return;
    for (size_t r = 0; r < out->nrows; r++)
        sluice_csv_write_row(f, out->values + r * out->schema->ncolumns, out->schema->ncolumns, ',');
}

int sluice_fuzz_restore(const uint8_t *data, size_t size) {
    restore_fixture *fx = restore_fixture_get();
    sluice_engine_source_options opts = {.format = SLUICE_FORMAT_JSON};
    sluice_transform *t = NULL;
    char errstr[512];
    if (sluice_engine_new(fx->plan, &opts, NULL, NULL, &t, errstr, sizeof errstr) != SLUICE_OK) abort();
    sluice_engine_set_clock(t, restore_clock, NULL);
    /* a copy of exactly size bytes, so that ASan sees any read past it */
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) abort();
    if (size) memcpy(buf, data, size);
    sluice_err_t err = t->ops->restore(t, buf, size, errstr, sizeof errstr);
    if (err != SLUICE_OK && err != SLUICE_ERR_MALFORMED) {
        fprintf(stderr, "fuzz_restore: restore returned %d: %s\n", (int)err, errstr);
        abort();
    }
    if (err == SLUICE_OK) {
        /* an accepted snapshot of the current version snapshots back to the
         * same bytes (version 1 comes back as version 2) */
        void *again = NULL;
        size_t again_len = 0;
        if (t->ops->snapshot(t, &again, &again_len, errstr, sizeof errstr) != SLUICE_OK) abort();
        if (size >= 4 && buf[0] == 2 && (again_len != size || memcmp(again, buf, size) != 0)) {
            fprintf(stderr, "fuzz_restore: an accepted snapshot does not snapshot back to its bytes\n");
            abort();
        }
        free(again);
        /* two micro-batches, the second ending the input, then a snapshot */
        size_t nq = fx->plan->nqueries;
        const sluice_row_batch *out[8];
        sluice_record_batch in = {.records = fx->recs, .count = 4, .capacity = 4};
        for (int b = 0; b < 2; b++) {
            if (b == 1) {
                in.records = fx->recs + 4;
                in.count = in.capacity = sizeof fx->recs / sizeof *fx->recs - 4;
                in.end_of_input = 1;
            }
            t->ops->set_time(t, INT64_C(978307200000) + b);
            if (t->ops->process(t, 0, NULL, &in, errstr, sizeof errstr) != SLUICE_OK) abort();
            if (t->ops->end_batch(t, b, out, nq, errstr, sizeof errstr) != SLUICE_OK) abort();
            for (size_t k = 0; k < nq; k++) render_rows(out[k]);
        }
        if (t->ops->snapshot(t, &again, &again_len, errstr, sizeof errstr) != SLUICE_OK) abort();
        free(again);
    }
    free(buf);
    t->ops->destroy(t);
    return 0;
}

sluice_fuzz_fn sluice_fuzz_entry(const char *target) {
    if (strcmp(target, "restore") == 0) return sluice_fuzz_restore;
    if (strcmp(target, "checkpoint") == 0) return sluice_fuzz_checkpoint;
    if (strcmp(target, "sql") == 0) return sluice_fuzz_sql;
    if (strcmp(target, "ini") == 0) return sluice_fuzz_ini;
    if (strcmp(target, "json") == 0) return sluice_fuzz_json;
    if (strcmp(target, "csv") == 0) return sluice_fuzz_csv;
    return NULL;
}
