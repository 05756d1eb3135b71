/*
 * End-to-end: run each example pipeline of fixtures/pipelines/ with the test
 * profile on the real fixture data, write its sink to a CSV file, and compare
 * the final result table with the expected output computed independently by
 * fixtures/oracle/make_expected.sh (SQLite).
 *
 * Comparison rules: same header; a keyed sink keeps the last row written per
 * primary key (an APPEND sink must write every key once); rows are sorted by
 * the primary key on both sides, a stateless sink is compared in output
 * order; numbers are equal within a relative 1e-9, other fields byte for
 * byte.
 */
#include "sluice_test.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOLERANCE 1e-9

/* ---- a small RFC 4180 reader --------------------------------------------- */

typedef struct csv_row {
    size_t nfields;
    char **fields;
} csv_row;

typedef struct csv_table {
    csv_row header;
    size_t nrows;
    csv_row *rows;
} csv_table;

static void row_push(csv_row *row, const char *text, size_t len) {
    row->fields = realloc(row->fields, (row->nfields + 1) * sizeof *row->fields);
    char *f = malloc(len + 1);
    memcpy(f, text, len);
    f[len] = '\0';
    row->fields[row->nfields++] = f;
}

static void row_free(csv_row *row) {
    for (size_t i = 0; i < row->nfields; i++) free(row->fields[i]);
    free(row->fields);
    row->fields = NULL;
    row->nfields = 0;
}

static void table_free(csv_table *t) {
    row_free(&t->header);
    for (size_t i = 0; i < t->nrows; i++) row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* Parses `text` (header line first).  Returns 0, or -1 with a message in
 * err on malformed input (an unterminated quote, text after a closing
 * quote). */
static int csv_parse(const char *text, csv_table *t, char *err, size_t err_size) {
    memset(t, 0, sizeof *t);
    size_t cap = 0, fcap = 256, flen = 0;
    char *field = malloc(fcap);
    csv_row cur = {0};
    const char *p = text;
    size_t line = 1;
    int have_header = 0;

    while (*p) {
        flen = 0;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    snprintf(err, err_size, "line %zu: unterminated quoted field", line);
                    goto fail;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        p++;
                    } else {
                        p++;
                        break;
                    }
                }
                if (*p == '\n') line++;
                if (flen + 1 >= fcap) field = realloc(field, fcap *= 2);
                field[flen++] = *p++;
            }
            if (*p != ',' && *p != '\n' && *p != '\r' && *p != '\0') {
                snprintf(err, err_size, "line %zu: text after a closing quote", line);
                goto fail;
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') {
                if (flen + 1 >= fcap) field = realloc(field, fcap *= 2);
                field[flen++] = *p++;
            }
        }
        row_push(&cur, field, flen);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r') p++;
        if (*p == '\n') p++;
        line++;
        if (!have_header) {
            t->header = cur;
            have_header = 1;
        } else {
            if (t->nrows == cap) {
                cap = cap ? cap * 2 : 1024;
                t->rows = realloc(t->rows, cap * sizeof *t->rows);
            }
            t->rows[t->nrows++] = cur;
        }
        memset(&cur, 0, sizeof cur);
    }
    free(field);
    return 0;
fail:
    free(field);
    row_free(&cur);
    table_free(t);
    return -1;
}

static int load_csv(const char *path, csv_table *t) {
    char *text = sluice_test_read_file(path, NULL);
    if (!text) {
        print_error("cannot read %s\n", path);
        return -1;
    }
    char err[256];
    int rc = csv_parse(text, t, err, sizeof err);
    if (rc != 0) print_error("%s: %s\n", path, err);
    free(text);
    return rc;
}

/* ---- field comparison ------------------------------------------------------ */

/* A plain decimal number: [+-]digits[.digits][(e|E)[+-]digits]. */
static int parse_number(const char *s, double *out) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p) return 0;
    *out = strtod(s, NULL);
    return 1;
}

static int field_equal(const char *a, const char *b) {
    double x, y;
    if (parse_number(a, &x) && parse_number(b, &y)) {
        if (x == y) return 1;
        double scale = fmax(fabs(x), fabs(y));
        return fabs(x - y) <= REL_TOLERANCE * scale;
    }
    return strcmp(a, b) == 0;
}

/* Order for primary-key fields: numerically when both are numbers. */
static int field_cmp(const char *a, const char *b) {
    double x, y;
    if (parse_number(a, &x) && parse_number(b, &y)) return (x > y) - (x < y);
    return strcmp(a, b);
}

/* ---- keyed result tables --------------------------------------------------- */

static const size_t *g_key_idx;
static size_t g_nkeys;

static int key_cmp(const csv_row *a, const csv_row *b) {
    for (size_t i = 0; i < g_nkeys; i++) {
        int c = field_cmp(a->fields[g_key_idx[i]], b->fields[g_key_idx[i]]);
        if (c) return c;
    }
    return 0;
}

typedef struct indexed_row {
    const csv_row *row;
    size_t pos; /* position in the file: keeps the sort stable */
} indexed_row;

static int indexed_cmp(const void *pa, const void *pb) {
    const indexed_row *a = pa, *b = pb;
    int c = key_cmp(a->row, b->row);
    if (c) return c;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static void format_row(const csv_row *r, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->nfields && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", r->fields[i]);
}

/* Sorts the rows by key and keeps the last row written per key.  With
 * `unique` set, a key written twice is a failure.  Returns the final rows
 * (malloc'd array of borrowed pointers) and their number in *n; NULL after a
 * failure was reported. */
static const csv_row **final_rows(const csv_table *t, const size_t *key_idx, size_t nkeys,
                                  int unique, const char *what, size_t *n) {
    g_key_idx = key_idx;
    g_nkeys = nkeys;
    indexed_row *ix = calloc(t->nrows ? t->nrows : 1, sizeof *ix);
    for (size_t i = 0; i < t->nrows; i++) ix[i] = (indexed_row){&t->rows[i], i};
    qsort(ix, t->nrows, sizeof *ix, indexed_cmp);
    const csv_row **out = calloc(t->nrows ? t->nrows : 1, sizeof *out);
    size_t m = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (i + 1 < t->nrows && key_cmp(ix[i].row, ix[i + 1].row) == 0) {
            if (unique) {
                char buf[1024];
                format_row(ix[i].row, buf, sizeof buf);
                print_error("%s: primary key written more than once (APPEND sink), "
                            "line %zu: %s\n", what, ix[i].pos + 2, buf);
                free(ix);
                free(out);
                return NULL;
            }
            continue;
        }
        out[m++] = ix[i].row;
    }
    free(ix);
    *n = m;
    return out;
}

/* ---- running the examples -------------------------------------------------- */

typedef struct example_sink {
    const char *sink;      /* the CREATE SINK name */
    const char *keys[4];   /* primary key columns, NULL-terminated; none = stateless */
    int append;            /* EMIT APPEND: every key written once */
} example_sink;

typedef struct example {
    const char *name;          /* fixtures/pipelines/NAME.sql */
    example_sink sinks[4];     /* compared with expected/NAME/SINK.csv; .sink NULL ends */
} example;

#define WINDOW_RANK {"window_start", "window_end", "rank"}

static const example examples[] = {
    {.name = "flights", .sinks = {{.sink = "delays_by_origin", .keys = {"window_start", "origin"}, .append = 1}}},
    {.name = "stocks", .sinks = {{.sink = "moving_avg", .keys = {"window_start", "symbol"}, .append = 1}}},
    {.name = "earthquakes", .sinks = {{.sink = "strong_quakes", .keys = {NULL}, .append = 1}}},
    {.name = "flights_top", .sinks = {{.sink = "top_origins", .keys = WINDOW_RANK, .append = 1}}},
    {.name = "flight_alerts", .sinks = {{.sink = "delay_alerts", .keys = {NULL}, .append = 1}}},
    {.name = "quake_regions",
     .sinks = {{.sink = "quakes_by_region", .keys = {"window_start", "window_end", "region"}, .append = 1}}},
    {.name = "saga_views",
     .sinks = {{.sink = "kafka_streams", .keys = {"window_start", "window_end", "top_5"}, .append = 1}}},
    {.name = "shop_orders",
     .sinks = {{.sink = "orders_by_shop", .keys = {"window_start", "shopid", "region"}, .append = 0}}},
    {.name = "order_alerts",
     .sinks = {{.sink = "alerts_highvolume", .keys = {NULL}, .append = 1},
               {.sink = "alerts_critical", .keys = {NULL}, .append = 1}}},
    {.name = "leaderboards",
     .sinks = {{.sink = "most_reviewed", .keys = WINDOW_RANK, .append = 1},
               {.sink = "best_rated", .keys = WINDOW_RANK, .append = 1},
               {.sink = "top_pages", .keys = WINDOW_RANK, .append = 0}}},
    {.name = "ticks",
     .sinks = {{.sink = "moving_avg", .keys = {"window_start", "symbol"}, .append = 1},
               {.sink = "moving_avg_live", .keys = {"window_start", "symbol"}, .append = 0},
               {.sink = "price_range", .keys = {"window_start", "symbol"}, .append = 0},
               {.sink = "sp500_moving_avg", .keys = {"window_start"}, .append = 1}}},
    {.name = "registrations",
     .sinks = {{.sink = "registrations_per_store", .keys = {"window_start", "store_id"}, .append = 0}}},
};

static void print_file(const char *label, const char *path) {
    char *text = sluice_test_read_file(path, NULL);
    if (text && *text) print_error("%s:\n%s\n", label, text);
    free(text);
}

static void compare_tables(const example_sink *ex, const csv_table *exp, const csv_table *act) {
    char eb[2048], ab[2048];

    format_row(&exp->header, eb, sizeof eb);
    format_row(&act->header, ab, sizeof ab);
    if (exp->header.nfields != act->header.nfields || strcmp(eb, ab) != 0)
        fail_msg("%s: header differs\n  expected: %s\n  actual:   %s", ex->sink, eb, ab);

    size_t key_idx[4], nkeys = 0;
    for (; nkeys < 4 && ex->keys[nkeys]; nkeys++) {
        size_t j = 0;
        while (j < exp->header.nfields && strcmp(exp->header.fields[j], ex->keys[nkeys]) != 0) j++;
        if (j == exp->header.nfields)
            fail_msg("%s: primary key column %s not in the header", ex->sink, ex->keys[nkeys]);
        key_idx[nkeys] = j;
    }

    for (size_t i = 0; i < act->nrows; i++)
        if (act->rows[i].nfields != act->header.nfields) {
            format_row(&act->rows[i], ab, sizeof ab);
            fail_msg("%s: line %zu has %zu fields, the header %zu: %s", ex->sink, i + 2,
                     act->rows[i].nfields, act->header.nfields, ab);
        }

    const csv_row **erows, **arows;
    size_t ne, na;
    if (nkeys) {
        erows = final_rows(exp, key_idx, nkeys, 1, "expected", &ne);
        arows = final_rows(act, key_idx, nkeys, ex->append, ex->sink, &na);
        if (!erows || !arows) fail_msg("%s: duplicate primary keys", ex->sink);
    } else {
        ne = exp->nrows;
        na = act->nrows;
        erows = calloc(ne ? ne : 1, sizeof *erows);
        arows = calloc(na ? na : 1, sizeof *arows);
        for (size_t i = 0; i < ne; i++) erows[i] = &exp->rows[i];
        for (size_t i = 0; i < na; i++) arows[i] = &act->rows[i];
    }

    size_t n = ne < na ? ne : na;
    for (size_t i = 0; i < n; i++) {
        const csv_row *e = erows[i], *a = arows[i];
        for (size_t c = 0; c < e->nfields; c++) {
            if (!field_equal(e->fields[c], a->fields[c])) {
                format_row(e, eb, sizeof eb);
                format_row(a, ab, sizeof ab);
                fail_msg("%s: result row %zu (%s) differs in column %s: expected '%s', got '%s'\n"
                         "  expected: %s\n  actual:   %s",
                         ex->sink, i + 1, nkeys ? "ordered by primary key" : "in output order",
                         exp->header.fields[c], e->fields[c], a->fields[c], eb, ab);
            }
        }
    }
    if (ne != na) {
        if (n < ne) format_row(erows[n], eb, sizeof eb);
        if (n < na) format_row(arows[n], ab, sizeof ab);
        fail_msg("%s: %zu result rows, expected %zu; first unmatched row:\n  %s %s",
                 ex->sink, na, ne, n < ne ? "expected:" : "actual:  ", n < ne ? eb : ab);
    }
    free(erows);
    free(arows);
}

/* Runs fixtures/pipelines/NAME.sql with the test profile, every sink of `ex`
 * bound to a CSV file (more arguments in `extra`, NULL-terminated), and
 * compares each with expected/NAME/SINK.csv. */
static void run_example_with(const example *ex, const char *const *extra) {
    char *dir = sluice_test_mkdtemp(ex->name);
    assert_non_null(dir);

    enum { MAXARGS = 64, MAXSETS = 16 };
    char sets[MAXSETS][4608];
    size_t ns = 0, na = 0;
    const char *argv[MAXARGS];
    char sql[512], dead[4096], so[4096], se[4096];
    snprintf(sql, sizeof sql, "fixtures/pipelines/%s.sql", ex->name);
    snprintf(dead, sizeof dead, "%s/%s.dead.jsonl", dir, ex->name);
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);
    argv[na++] = "run";
    argv[na++] = sql;
    argv[na++] = "--profile";
    argv[na++] = "test";
    argv[na++] = "--quiet";
    for (const example_sink *s = ex->sinks; s < ex->sinks + 4 && s->sink; s++) {
        snprintf(sets[ns++], sizeof sets[0], "sink %s.connector=file", s->sink);
        snprintf(sets[ns++], sizeof sets[0], "sink %s.path=%s/%s.csv", s->sink, dir, s->sink);
        snprintf(sets[ns++], sizeof sets[0], "sink %s.format=csv", s->sink);
    }
    snprintf(sets[ns++], sizeof sets[0], "pipeline.dead_letter=%s", dead);
    for (size_t i = 0; i < ns; i++) {
        argv[na++] = "--set";
        argv[na++] = sets[i];
    }
    for (size_t i = 0; extra && extra[i] && na + 1 < MAXARGS; i++) argv[na++] = extra[i];
    argv[na] = NULL;

    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        print_file("stdout", so);
        print_file("stderr", se);
        fail_msg("sluice run %s: exit status %d, expected 0", sql, rc);
    }

    size_t dead_len = 0;
    char *dead_text = sluice_test_read_file(dead, &dead_len);
    if (dead_text && dead_len > 0) {
        print_error("dead-letter output %s:\n%.2000s\n", dead, dead_text);
        fail_msg("%s: %zu bytes of dead letters on a clean data set", ex->name, dead_len);
    }
    free(dead_text);

    for (const example_sink *s = ex->sinks; s < ex->sinks + 4 && s->sink; s++) {
        char expected_rel[512], out[4608];
        snprintf(expected_rel, sizeof expected_rel, "expected/%s/%s.csv", ex->name, s->sink);
        snprintf(out, sizeof out, "%s/%s.csv", dir, s->sink);
        csv_table exp, act;
        assert_int_equal(load_csv(sluice_test_fixture(expected_rel), &exp), 0);
        assert_int_equal(load_csv(out, &act), 0);
        compare_tables(s, &exp, &act);
        table_free(&exp);
        table_free(&act);
    }
    free(dir);
}

static const example *find_example(const char *name) {
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if (strcmp(examples[i].name, name) == 0) return &examples[i];
    return NULL;
}

static void test_example(void **state) {
    const example *ex = find_example(*state);
    assert_non_null(ex);
    run_example_with(ex, NULL);
}

/* The same pipeline cut into small micro-batches: UPDATE and COMPLETE sinks
 * then emit many intermediate rows, and their final tables must still
 * match. */
static void test_example_small_batches(void **state) {
    const example *ex = find_example(*state);
    assert_non_null(ex);
    const char *extra[] = {"--set", "pipeline.max_batch_rows=97", NULL};
    run_example_with(ex, extra);
}

/* The test profile's default sink: the in-memory table, printed at exit with
 * a line "sink NAME: N rows". */
static void test_flights_memory_sink(void **state) {
    (void)state;
    char *dir = sluice_test_mkdtemp("flights_memory");
    assert_non_null(dir);
    char so[4096], se[4096];
    snprintf(so, sizeof so, "%s/stdout.txt", dir);
    snprintf(se, sizeof se, "%s/stderr.txt", dir);

    const char *argv[] = {"run", "fixtures/pipelines/flights.sql", "--profile", "test", "--quiet", NULL};
    int rc = sluice_test_run_cli(argv, so, se);
    if (rc != 0) {
        print_file("stderr", se);
        fail_msg("sluice run fixtures/pipelines/flights.sql: exit status %d, expected 0", rc);
    }

    csv_table exp;
    assert_int_equal(load_csv(sluice_test_fixture("expected/flights/delays_by_origin.csv"), &exp), 0);
    char want[128];
    snprintf(want, sizeof want, "sink delays_by_origin: %zu rows", exp.nrows);
    table_free(&exp);

    char *text = sluice_test_read_file(so, NULL);
    assert_non_null(text);
    int found = 0;
    size_t wl = strlen(want);
    for (const char *line = text; line && *line && !found;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[len - 1] == '\r') len--;
        found = len == wl && memcmp(line, want, wl) == 0;
        line = nl ? nl + 1 : NULL;
    }
    if (!found) {
        print_error("stdout:\n%.4000s\n", text);
        fail_msg("stdout has no line '%s'", want);
    }
    free(text);
    free(dir);
}

#define EXAMPLE(fn, pipeline) {.name = #fn "(" pipeline ")", .test_func = fn, .initial_state = (void *)pipeline}

int main(void) {
    const struct CMUnitTest tests[] = {
        EXAMPLE(test_example, "flights"),
        EXAMPLE(test_example, "stocks"),
        EXAMPLE(test_example, "earthquakes"),
        EXAMPLE(test_example, "flights_top"),
        EXAMPLE(test_example, "flight_alerts"),
        EXAMPLE(test_example, "quake_regions"),
        EXAMPLE(test_example, "saga_views"),
        EXAMPLE(test_example, "shop_orders"),
        EXAMPLE(test_example, "order_alerts"),
        EXAMPLE(test_example, "leaderboards"),
        EXAMPLE(test_example, "ticks"),
        EXAMPLE(test_example, "registrations"),
        EXAMPLE(test_example_small_batches, "quake_regions"),
        EXAMPLE(test_example_small_batches, "shop_orders"),
        EXAMPLE(test_example_small_batches, "leaderboards"),
        EXAMPLE(test_example_small_batches, "ticks"),
        cmocka_unit_test(test_flights_memory_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
