/*
 * Result tables: CSV reading and comparison with a sink's key rules (see
 * result_table.h).
 */
#include "result_table.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_test.h"

/* Differences described in a failure message; the rest are only counted. */
#define SHOWN_DIFFERENCES 5

/* ---- rows and tables -------------------------------------------------------------------------------- */

static int row_push(sluice_result_row *row, const char *text, size_t len) {
    char **nf = realloc(row->fields, (row->nfields + 1) * sizeof *nf);
    if (!nf) return -1;
    row->fields = nf;
    char *f = malloc(len + 1);
    if (!f) return -1;
    memcpy(f, text, len);
    f[len] = '\0';
    row->fields[row->nfields++] = f;
    return 0;
}

static void row_free(sluice_result_row *row) {
    for (size_t i = 0; i < row->nfields; i++) free(row->fields[i]);
    free(row->fields);
    row->fields = NULL;
    row->nfields = 0;
}

static int row_copy(sluice_result_row *row, const char *const *fields, size_t n) {
    memset(row, 0, sizeof *row);
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i] ? fields[i] : "";
        if (row_push(row, f, strlen(f)) != 0) {
            row_free(row);
            return -1;
        }
    }
    return 0;
}

/* Append `row` (taken over) to the rows of t. */
static int table_take_row(sluice_result_table *t, sluice_result_row *row) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        sluice_result_row *nr = realloc(t->rows, cap * sizeof *nr);
        if (!nr) return -1;
        t->rows = nr;
        t->cap = cap;
    }
    t->rows[t->nrows++] = *row;
    memset(row, 0, sizeof *row);
    return 0;
}

void sluice_result_table_init(sluice_result_table *t) {
    memset(t, 0, sizeof *t);
}

void sluice_result_table_free(sluice_result_table *t) {
    if (!t) return;
    row_free(&t->header);
    for (size_t i = 0; i < t->nrows; i++) row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int sluice_result_table_set_header(sluice_result_table *t, const char *const *names, size_t n) {
    row_free(&t->header);
    return row_copy(&t->header, names, n);
}

int sluice_result_table_append(sluice_result_table *t, const char *const *fields, size_t n) {
    sluice_result_row row;
    if (row_copy(&row, fields, n) != 0) return -1;
    if (table_take_row(t, &row) != 0) {
        row_free(&row);
        return -1;
    }
    return 0;
}

long sluice_result_table_column(const sluice_result_table *t, const char *name) {
    for (size_t i = 0; i < t->header.nfields; i++)
        if (strcmp(t->header.fields[i], name) == 0) return (long)i;
    return -1;
}

size_t sluice_result_table_filter(sluice_result_table *t, int (*keep)(const sluice_result_row *row, void *arg),
                                  void *arg) {
    size_t m = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        if (keep(&t->rows[i], arg))
            t->rows[m++] = t->rows[i];
        else
            row_free(&t->rows[i]);
    }
    t->nrows = m;
    return m;
}

void sluice_result_row_format(const sluice_result_row *r, char *buf, size_t size) {
    if (size == 0) return;
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->nfields && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", r->fields[i]);
}

/* ---- CSV (RFC 4180) --------------------------------------------------------------------------------- */

int sluice_result_table_parse_csv(const char *text, sluice_result_table *t, char *err, size_t err_size) {
    sluice_result_table_init(t);
    size_t fcap = 256, flen = 0;
    char *field = malloc(fcap);
    sluice_result_row cur = {0};
    const char *p = text;
    size_t line = 1;
    int have_header = 0;
    if (!field) goto nomem;

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
                if (flen + 1 >= fcap) {
                    char *nf = realloc(field, fcap *= 2);
                    if (!nf) goto nomem;
                    field = nf;
                }
                field[flen++] = *p++;
            }
            if (*p != ',' && *p != '\n' && *p != '\r' && *p != '\0') {
                snprintf(err, err_size, "line %zu: text after a closing quote", line);
                goto fail;
            }
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r') {
                if (flen + 1 >= fcap) {
                    char *nf = realloc(field, fcap *= 2);
                    if (!nf) goto nomem;
                    field = nf;
                }
                field[flen++] = *p++;
            }
        }
        if (row_push(&cur, field, flen) != 0) goto nomem;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r') p++;
        if (*p == '\n') p++;
        line++;
        if (!have_header) {
            t->header = cur;
            memset(&cur, 0, sizeof cur);
            have_header = 1;
        } else if (table_take_row(t, &cur) != 0) {
            goto nomem;
        }
    }
    free(field);
    return 0;
nomem:
    snprintf(err, err_size, "line %zu: out of memory", line);
fail:
    free(field);
    row_free(&cur);
    sluice_result_table_free(t);
    return -1;
}

int sluice_result_table_load_csv(const char *path, sluice_result_table *t, char *err, size_t err_size) {
    sluice_result_table_init(t);
    char *text = sluice_test_read_file(path, NULL);
    if (!text) {
        snprintf(err, err_size, "%s: cannot read the file", path);
        return -1;
    }
    char why[256];
    int rc = sluice_result_table_parse_csv(text, t, why, sizeof why);
    if (rc != 0) snprintf(err, err_size, "%s: %s", path, why);
    free(text);
    return rc;
}

/* ---- fields ----------------------------------------------------------------------------------------- */

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

int sluice_result_field_equal(const char *a, const char *b) {
    double x, y;
    if (parse_number(a, &x) && parse_number(b, &y)) {
        if (x == y) return 1;
        double scale = fmax(fabs(x), fabs(y));
        return fabs(x - y) <= SLUICE_RESULT_REL_TOLERANCE * scale;
    }
    return strcmp(a, b) == 0;
}

/* Order of fields: numerically when both are numbers, else bytewise. */
static int field_cmp(const char *a, const char *b) {
    double x, y;
    if (parse_number(a, &x) && parse_number(b, &y)) return (x > y) - (x < y);
    return strcmp(a, b);
}

/* ---- comparison ------------------------------------------------------------------------------------- */

/* The columns rows are matched on: the key columns, or every column. */
typedef struct match_cols {
    const size_t *idx;
    size_t n;
} match_cols;

/* Rows ordered by the match columns; 0 when every match field is equal
 * (numbers within the tolerance). */
static int match_cmp(const match_cols *mc, const sluice_result_row *a, const sluice_result_row *b) {
    for (size_t i = 0; i < mc->n; i++) {
        const char *x = a->fields[mc->idx[i]], *y = b->fields[mc->idx[i]];
        if (sluice_result_field_equal(x, y)) continue;
        int c = field_cmp(x, y);
        if (c) return c;
    }
    return 0;
}

typedef struct indexed_row {
    const sluice_result_row *row;
    size_t pos; /* position in the table: keeps the sort stable */
} indexed_row;

static int indexed_cmp(const void *pa, const void *pb, void *arg) {
    const indexed_row *a = pa, *b = pb;
    int c = match_cmp(arg, a->row, b->row);
    if (c) return c;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* A message under construction: text appended while there is room. */
typedef struct msgbuf {
    char *buf;
    size_t size, len;
} msgbuf;

__attribute__((format(printf, 2, 3))) static void msg_add(msgbuf *m, const char *fmt, ...) {
    if (m->size == 0 || m->len + 1 >= m->size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    m->len += (size_t)n;
    if (m->len >= m->size) m->len = m->size - 1;
}

static void format_key(const sluice_result_table *t, const match_cols *mc, const sluice_result_row *r, char *buf,
                       size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < mc->n && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", i ? ", " : "", t->header.fields[mc->idx[i]],
                              r->fields[mc->idx[i]]);
}

/* Sorted rows of t; with `last_per_key`, only the last row of each run of
 * equal match columns (the current value of a key), counting and
 * describing the keys seen more than once when `dups_are_errors`. */
typedef struct sorted_rows {
    const sluice_result_row **rows;
    size_t n;
} sorted_rows;

static int sort_rows(const sluice_result_table *t, const match_cols *mc, int last_per_key, int dups_are_errors,
                     const char *side, msgbuf *details, size_t *ndiff, sorted_rows *out) {
    indexed_row *ix = calloc(t->nrows ? t->nrows : 1, sizeof *ix);
    out->rows = calloc(t->nrows ? t->nrows : 1, sizeof *out->rows);
    out->n = 0;
    if (!ix || !out->rows) {
        free(ix);
        free(out->rows);
        out->rows = NULL;
        return -1;
    }
    for (size_t i = 0; i < t->nrows; i++) ix[i] = (indexed_row){&t->rows[i], i};
    qsort_r(ix, t->nrows, sizeof *ix, indexed_cmp, (void *)mc);
    for (size_t i = 0; i < t->nrows; i++) {
        if (last_per_key && i + 1 < t->nrows && match_cmp(mc, ix[i].row, ix[i + 1].row) == 0) {
            if (dups_are_errors && (i == 0 || match_cmp(mc, ix[i - 1].row, ix[i].row) != 0)) {
                if ((*ndiff)++ < SHOWN_DIFFERENCES) {
                    char key[1024], row[2048];
                    format_key(t, mc, ix[i].row, key, sizeof key);
                    sluice_result_row_format(ix[i + 1].row, row, sizeof row);
                    msg_add(details, "  %s: key (%s) written more than once (rows %zu and %zu; each key once "
                            "expected), last: %s\n", side, key, ix[i].pos + 1, ix[i + 1].pos + 1, row);
                }
            }
            continue;
        }
        out->rows[out->n++] = ix[i].row;
    }
    free(ix);
    return 0;
}

static void describe_field_difference(msgbuf *details, const sluice_result_table *exp, const char *where,
                                      const sluice_result_row *e, const sluice_result_row *a) {
    for (size_t c = 0; c < e->nfields; c++) {
        if (sluice_result_field_equal(e->fields[c], a->fields[c])) continue;
        char eb[2048], ab[2048];
        sluice_result_row_format(e, eb, sizeof eb);
        sluice_result_row_format(a, ab, sizeof ab);
        msg_add(details, "  %s differs in column %s: expected '%s', got '%s'\n    expected: %s\n    actual:   %s\n",
                where, exp->header.fields[c], e->fields[c], a->fields[c], eb, ab);
        return;
    }
}

static int rows_equal(const sluice_result_row *e, const sluice_result_row *a) {
    for (size_t c = 0; c < e->nfields; c++)
        if (!sluice_result_field_equal(e->fields[c], a->fields[c])) return 0;
    return 1;
}

int sluice_result_table_compare(const char *what, const sluice_result_table *expected,
                                const sluice_result_table *actual, const sluice_result_rules *rules, char *msg,
                                size_t msg_size) {
    msgbuf out = {msg, msg_size, 0};
    if (msg_size) msg[0] = '\0';
    char eb[2048], ab[2048];

    int same_header = expected->header.nfields == actual->header.nfields;
    for (size_t i = 0; same_header && i < expected->header.nfields; i++)
        same_header = strcmp(expected->header.fields[i], actual->header.fields[i]) == 0;
    if (!same_header) {
        sluice_result_row_format(&expected->header, eb, sizeof eb);
        sluice_result_row_format(&actual->header, ab, sizeof ab);
        msg_add(&out, "%s: header differs\n  expected: %s\n  actual:   %s", what, eb, ab);
        return -1;
    }
    size_t ncols = expected->header.nfields;

    const sluice_result_table *sides[2] = {expected, actual};
    const char *side_names[2] = {"expected", "actual"};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->nrows; i++)
            if (sides[s]->rows[i].nfields != ncols) {
                sluice_result_row_format(&sides[s]->rows[i], ab, sizeof ab);
                msg_add(&out, "%s: %s row %zu has %zu fields, the header %zu: %s", what, side_names[s], i + 1,
                        sides[s]->rows[i].nfields, ncols, ab);
                return -1;
            }

    size_t key_idx[16], nkeys = 0;
    for (; rules->keys && rules->keys[nkeys]; nkeys++) {
        long j = nkeys < 16 ? sluice_result_table_column(expected, rules->keys[nkeys]) : -1;
        if (j < 0) {
            msg_add(&out, "%s: primary key column %s not in the header", what, rules->keys[nkeys]);
            return -1;
        }
        key_idx[nkeys] = (size_t)j;
    }
    size_t all_idx_stack[64], *all_idx = ncols <= 64 ? all_idx_stack : calloc(ncols, sizeof *all_idx);
    if (!all_idx) {
        msg_add(&out, "%s: out of memory", what);
        return -1;
    }
    for (size_t i = 0; i < ncols; i++) all_idx[i] = i;
    const match_cols mc = nkeys ? (match_cols){key_idx, nkeys} : (match_cols){all_idx, ncols};
    const int keyed = nkeys > 0, ordered = !keyed && !rules->unordered;

    char detail_buf[8192];
    msgbuf details = {detail_buf, sizeof detail_buf, 0};
    detail_buf[0] = '\0';
    size_t ndiff = 0, shown_before;
    sorted_rows es = {0}, as = {0};
    int rc = 0;


    /* keyed: the last row per key on each side, matched by key; keyless:
     * every row, sorted (a multiset) -- in order only once the multisets
     * are equal, so that a missing row is named rather than every row
     * after it */
    if (sort_rows(expected, &mc, keyed, keyed, "expected", &details, &ndiff, &es) != 0 ||
        sort_rows(actual, &mc, keyed, keyed && rules->unique, "actual", &details, &ndiff, &as) != 0) {
        msg_add(&out, "%s: out of memory", what);
        rc = -1;
        goto done;
    }
    size_t i = 0, j = 0;
    while (i < es.n || j < as.n) {
        int c = i == es.n ? 1 : j == as.n ? -1 : match_cmp(&mc, es.rows[i], as.rows[j]);
        if (c == 0) {
            if (keyed && !rows_equal(es.rows[i], as.rows[j]) && ndiff++ < SHOWN_DIFFERENCES) {
                char key[1024], where[1100];
                format_key(expected, &mc, es.rows[i], key, sizeof key);
                snprintf(where, sizeof where, "row of key (%s)", key);
                describe_field_difference(&details, expected, where, es.rows[i], as.rows[j]);
            }
            i++, j++;
            continue;
        }
        const sluice_result_row *r = c < 0 ? es.rows[i] : as.rows[j];
        if (ndiff++ < SHOWN_DIFFERENCES) {
            sluice_result_row_format(r, eb, sizeof eb);
            if (keyed) {
                char key[1024];
                format_key(expected, &mc, r, key, sizeof key);
                msg_add(&details, "  %s key (%s): %s\n", c < 0 ? "missing (expected)" : "not expected", key, eb);
            } else {
                msg_add(&details, "  %s row: %s\n", c < 0 ? "missing (expected)" : "not expected", eb);
            }
        }
        if (c < 0) i++;
        else j++;
    }
    int order_only = 0;
    if (ordered && ndiff == 0) {
        for (size_t k = 0; k < expected->nrows; k++) {
            const sluice_result_row *e = &expected->rows[k], *a = &actual->rows[k];
            if (rows_equal(e, a)) continue;
            order_only = 1;
            if (ndiff++ < SHOWN_DIFFERENCES) {
                sluice_result_row_format(e, eb, sizeof eb);
                sluice_result_row_format(a, ab, sizeof ab);
                msg_add(&details, "  row %zu:\n    expected: %s\n    actual:   %s\n", k + 1, eb, ab);
            }
        }
    }

    if (ndiff) {
        shown_before = ndiff < SHOWN_DIFFERENCES ? ndiff : SHOWN_DIFFERENCES;
        msg_add(&out, "%s: %zu difference(s); %zu rows expected, %zu actual", what, ndiff, expected->nrows,
                actual->nrows);
        if (keyed) msg_add(&out, " (%zu and %zu keys)", es.n, as.n);
        msg_add(&out, "; compared %s; the first %zu:\n%s",
                keyed ? "by primary key (last row per key)"
                : !ordered ? "as sorted multisets"
                : order_only ? "in output order (the same rows, in another order)"
                : "in output order (the rows differ as multisets)",
                shown_before, detail_buf);
        rc = -1;
    }
done:
    free(es.rows);
    free(as.rows);
    if (all_idx != all_idx_stack) free(all_idx);
    return rc;
}

void sluice_result_assert_equal_at(const char *what, const sluice_result_table *expected,
                                   const sluice_result_table *actual, const sluice_result_rules *rules,
                                   const char *file, int line) {
    char msg[16384];
    if (sluice_result_table_compare(what, expected, actual, rules, msg, sizeof msg) == 0) return;
    /* line by line: cmocka cuts one message at about 1 KiB */
    for (const char *p = msg; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        print_error("%.*s\n", len, p);
        p += len + (nl ? 1 : 0);
    }
    _fail(file, line);
}

/* ---- changelog ---------------------------------------------------------- */

typedef struct changelog_sort {
    const sluice_result_table *t;
    const long *kcols;
    size_t nk;
} changelog_sort;

/* By key, then by position: a key's rows end with its last one. */
static int changelog_compare(const void *a, const void *b, void *arg) {
    const changelog_sort *cs = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    for (size_t k = 0; k < cs->nk; k++) {
        int d = strcmp(cs->t->rows[ia].fields[cs->kcols[k]], cs->t->rows[ib].fields[cs->kcols[k]]);
        if (d) return d;
    }
    return ia < ib ? -1 : ia > ib;
}

int sluice_result_table_apply_changelog(sluice_result_table *t, const char *const *keys, char *err,
                                        size_t err_size) {
    if (t->header.nfields == 0 || strcmp(t->header.fields[0], "op") != 0) {
        snprintf(err, err_size, "the header has no first column 'op'");
        return -1;
    }
    long kcols[16];
    size_t nk = 0;
    for (; keys && keys[nk]; nk++) {
        if (nk == 16 || (kcols[nk] = sluice_result_table_column(t, keys[nk])) < 0) {
            snprintf(err, err_size, "key column '%s' missing", keys[nk]);
            return -1;
        }
    }
    if (nk == 0) {
        snprintf(err, err_size, "no key columns");
        return -1;
    }
    for (size_t i = 0; i < t->nrows; i++) {
        const sluice_result_row *r = &t->rows[i];
        const char *op = r->nfields ? r->fields[0] : "";
        if (r->nfields != t->header.nfields ||
            (strcmp(op, "+I") && strcmp(op, "-U") && strcmp(op, "+U") && strcmp(op, "-D"))) {
            snprintf(err, err_size, "row %zu: op '%s' is not +I, -U, +U or -D (or the row has %zu fields)", i + 1,
                     op, r->nfields);
            return -1;
        }
    }
    size_t *order = malloc((t->nrows + 1) * sizeof *order);
    unsigned char *keep = calloc(t->nrows + 1, 1);
    if (!order || !keep) {
        free(order);
        free(keep);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < t->nrows; i++) order[i] = i;
    changelog_sort cs = {t, kcols, nk};
    qsort_r(order, t->nrows, sizeof *order, changelog_compare, &cs);
    for (size_t i = 0; i < t->nrows;) {
        size_t j = i, last = SIZE_MAX;
        for (; j < t->nrows; j++) {
            int same = 1;
            for (size_t k = 0; k < nk && same; k++)
                same = strcmp(t->rows[order[i]].fields[kcols[k]], t->rows[order[j]].fields[kcols[k]]) == 0;
            if (!same) break;
            if (strcmp(t->rows[order[j]].fields[0], "-U") != 0) last = order[j];
        }
        if (last != SIZE_MAX && strcmp(t->rows[last].fields[0], "-D") != 0) keep[last] = 1;
        i = j;
    }
    size_t m = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        sluice_result_row *r = &t->rows[i];
        if (!keep[i]) {
            row_free(r);
            continue;
        }
        free(r->fields[0]);
        memmove(r->fields, r->fields + 1, (r->nfields - 1) * sizeof *r->fields);
        r->nfields--;
        t->rows[m++] = *r;
    }
    t->nrows = m;
    free(t->header.fields[0]);
    memmove(t->header.fields, t->header.fields + 1, (t->header.nfields - 1) * sizeof *t->header.fields);
    t->header.nfields--;
    free(order);
    free(keep);
    return 0;
}

static int same_fields(const sluice_result_row *a, const sluice_result_row *b) {
    if (a->nfields != b->nfields) return 0;
    for (size_t f = 1; f < a->nfields; f++)
        if (strcmp(a->fields[f], b->fields[f]) != 0) return 0;
    return 1;
}

int sluice_result_table_apply_retractions(sluice_result_table *t, char *err, size_t err_size) {
    if (t->header.nfields == 0 || strcmp(t->header.fields[0], "op") != 0) {
        snprintf(err, err_size, "the header has no first column 'op'");
        return -1;
    }
    unsigned char *keep = calloc(t->nrows + 1, 1);
    if (!keep) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < t->nrows; i++) {
        const sluice_result_row *r = &t->rows[i];
        const char *op = r->nfields ? r->fields[0] : "";
        if (r->nfields != t->header.nfields) op = "";
        if (!strcmp(op, "+I") || !strcmp(op, "+U")) {
            keep[i] = 1;
            continue;
        }
        if (strcmp(op, "-U") && strcmp(op, "-D")) {
            snprintf(err, err_size, "row %zu: op '%s' is not +I, -U, +U or -D (or the row has %zu fields)", i + 1,
                     op, r->nfields);
            free(keep);
            return -1;
        }
        size_t j = 0;
        while (j < i && !(keep[j] && same_fields(&t->rows[j], r))) j++;
        if (j == i) {
            snprintf(err, err_size, "row %zu: %s of a row that is not there", i + 1, op);
            free(keep);
            return -1;
        }
        keep[j] = 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        sluice_result_row *r = &t->rows[i];
        if (!keep[i]) {
            row_free(r);
            continue;
        }
        free(r->fields[0]);
        memmove(r->fields, r->fields + 1, (r->nfields - 1) * sizeof *r->fields);
        r->nfields--;
        t->rows[m++] = *r;
    }
    t->nrows = m;
    free(t->header.fields[0]);
    memmove(t->header.fields, t->header.fields + 1, (t->header.nfields - 1) * sizeof *t->header.fields);
    t->header.nfields--;
    free(keep);
    return 0;
}
