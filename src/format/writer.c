/*
 * Writers: rows as CSV lines (RFC 4180 quoting by libcsv's csv_fwrite2) and
 * as JSON lines (string escaping by cJSON; ill-formed UTF-8 replaced by
 * U+FFFD first, see sluice_json_write_string).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <csv.h>

#include "format/format.h"

#define PUT(f, s, n) \
    do { \
        size_t n_ = (n); \
        if (n_ && fwrite((s), 1, n_, (f)) != n_) return SLUICE_ERR_IO; \
    } while (0)

#define PUTC(f, c) \
    do { \
        if (fputc((c), (f)) == EOF) return SLUICE_ERR_IO; \
    } while (0)

/* ---------------- CSV ---------------- */

/* One CSV field: quoted (by libcsv) when it holds the delimiter, a quote or
 * a line break, or when it is empty but present (so "" differs from a
 * NULL's empty field). */
static sluice_err_t csv_field_text(FILE *f, const char *s, size_t len, char delimiter,
                                   int empty_quoted) {
    int quote = len == 0 && empty_quoted;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        PUT(f, s, len);
        return SLUICE_OK;
    }
    if (csv_fwrite2(f, s, len, '"') != 0) return SLUICE_ERR_IO;
    return SLUICE_OK;
}

/* The decoders let only UTF-8 text into the engine, but a string literal
 * of the SQL file is not checked: as in JSON, each maximal subpart of an
 * ill-formed sequence becomes U+FFFD, so CSV output is UTF-8 too. */
static sluice_err_t csv_field(FILE *f, const char *s, size_t len, char delimiter, int empty_quoted) {
    if (sluice_utf8_valid(s, len)) return csv_field_text(f, s, len, delimiter, empty_quoted);
    char stack[256];
    size_t cap = 3 * len; /* one byte becomes at most 3 */
    char *buf = cap <= sizeof stack ? stack : malloc(cap);
    if (!buf) return SLUICE_ERR_NOMEM;
    size_t n = 0;
    for (;;) {
        size_t bad = 0, at = sluice_utf8_find_invalid(s, len, &bad);
        memcpy(buf + n, s, at);
        n += at;
        if (at == len) break;
        memcpy(buf + n, "\xEF\xBF\xBD", 3);
        n += 3;
        s += at + bad;
        len -= at + bad;
    }
    sluice_err_t rc = csv_field_text(f, buf, n, delimiter, empty_quoted);
    if (buf != stack) free(buf);
    return rc;
}

sluice_err_t sluice_csv_write_header(FILE *f, const sluice_column *cols, size_t ncols,
                                     char delimiter) {
    for (size_t i = 0; i < ncols; i++) {
        if (i) PUTC(f, delimiter);
        sluice_err_t rc = csv_field(f, cols[i].name, strlen(cols[i].name), delimiter, 1);
        if (rc != SLUICE_OK) return rc;
    }
    PUTC(f, '\n');
    return SLUICE_OK;
}

sluice_err_t sluice_csv_write_row(FILE *f, const sluice_value *row, size_t ncols,
                                  char delimiter) {
    char buf[64];
    for (size_t i = 0; i < ncols; i++) {
        if (i) PUTC(f, delimiter);
        const sluice_value *v = &row[i];
        sluice_err_t rc;
        if (v->type == SLUICE_TYPE_VARCHAR) {
            rc = csv_field(f, v->u.s, v->len, delimiter, 1);
        } else if (v->type == SLUICE_TYPE_ARRAY) {
            size_t n;
            char *text = sluice_value_render_alloc(v, &n); /* JSON text of any length */
            if (!text) return SLUICE_ERR_NOMEM;
            rc = csv_field(f, text, n, delimiter, 1);
            free(text);
        } else {
            size_t n = sluice_value_render(v, buf, sizeof buf);
            rc = csv_field(f, buf, n < sizeof buf ? n : sizeof buf - 1, delimiter, 0);
        }
        if (rc != SLUICE_OK) return rc;
    }
    PUTC(f, '\n');
    return SLUICE_OK;
}

/* ---------------- JSON ---------------- */

sluice_err_t sluice_json_write_row(FILE *f, const sluice_column *cols,
                                   const sluice_value *row, size_t ncols) {
    char buf[64];
    PUTC(f, '{');
    for (size_t i = 0; i < ncols; i++) {
        if (i) PUTC(f, ',');
        sluice_err_t rc = sluice_json_write_string(f, cols[i].name, strlen(cols[i].name));
        if (rc != SLUICE_OK) return rc;
        PUTC(f, ':');
        const sluice_value *v = &row[i];
        switch ((sluice_type_t)v->type) {
        case SLUICE_TYPE_VARCHAR:
            rc = sluice_json_write_string(f, v->u.s, v->len);
            if (rc != SLUICE_OK) return rc;
            break;
        case SLUICE_TYPE_TIMESTAMP: {
            size_t n = sluice_ts_render(v->u.i, buf, sizeof buf);
            PUTC(f, '"');
            PUT(f, buf, n);
            PUTC(f, '"');
            break;
        }
        case SLUICE_TYPE_DOUBLE:
        case SLUICE_TYPE_BIGINT:
        case SLUICE_TYPE_INTERVAL:
        case SLUICE_TYPE_BOOLEAN: {
            if (v->type == SLUICE_TYPE_DOUBLE && !isfinite(v->u.d)) {
                PUT(f, "null", 4); /* JSON has no NaN or infinities */
                break;
            }
            size_t n = sluice_value_render(v, buf, sizeof buf);
            PUT(f, buf, n);
            break;
        }
        case SLUICE_TYPE_ARRAY: {
            /* a JSON array, not a string holding one */
            size_t need;
            char *text = sluice_value_render_alloc(v, &need);
            if (!text) return SLUICE_ERR_NOMEM;
            size_t put = fwrite(text, 1, need, f);
            free(text);
            if (put != need) return SLUICE_ERR_IO;
            break;
        }
        case SLUICE_TYPE_NULL:
        default:
            PUT(f, "null", 4);
            break;
        }
    }
    PUT(f, "}\n", 2);
    return SLUICE_OK;
}
