/*
 * Writers: rows as CSV lines (RFC 4180 quoting: a field holding the
 * delimiter, a quote or a line break is quoted, its quotes doubled, as
 * libcsv's csv_fwrite2 does) and as JSON lines (strings escaped as cJSON
 * escapes them; ill-formed UTF-8 replaced by U+FFFD first, see
 * sluice_json_write_string).  Rows are rendered into an output buffer
 * (outbuf.h) that the sink writes once per batch; the FILE variants render
 * one row and write it with one fwrite.
 */
#include <math.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "format/number_format.h"
#include "format/outbuf.h"

/* The replacement of an ill-formed UTF-8 subpart (U+FFFD). */
#define REPLACEMENT "\xEF\xBF\xBD"

/* A scalar's text (not VARCHAR or ARRAY) per sluice_value_render, at out
 * (SLUICE_NUMBER_TEXT_MAX + 8 bytes); returns its length. */
static size_t scalar_text(const sluice_value *v, char *out) {
    switch ((sluice_type_t)v->type) {
    case SLUICE_TYPE_BIGINT:
    case SLUICE_TYPE_INTERVAL: return sluice_fmt_int64(v->u.i, out);
    case SLUICE_TYPE_DOUBLE: return sluice_fmt_double(v->u.d, out);
    case SLUICE_TYPE_BOOLEAN:
        memcpy(out, v->u.i ? "true" : "false", v->u.i ? 5 : 6);
        return v->u.i ? 4 : 5;
    case SLUICE_TYPE_TIMESTAMP: return sluice_ts_render(v->u.i, out, SLUICE_NUMBER_TEXT_MAX + 8);
    default: out[0] = '\0'; return 0;
    }
}

/* ---------------- CSV ---------------- */

/* One CSV field: quoted when it holds the delimiter, a quote or a line
 * break, or when it is empty but present (so "" differs from a NULL's
 * empty field). */
static void csv_field_text(sluice_outbuf *o, const char *s, size_t len, char delimiter, int empty_quoted) {
    int quote = len == 0 && empty_quoted;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        sluice_outbuf_put(o, s, len);
        return;
    }
    sluice_outbuf_putc(o, '"');
    for (;;) {
        const char *q = memchr(s, '"', len);
        size_t run = q ? (size_t)(q - s) + 1 : len;
        sluice_outbuf_put(o, s, run);
        if (!q) break;
        sluice_outbuf_putc(o, '"'); /* the quote doubled */
        s += run;
        len -= run;
    }
    sluice_outbuf_putc(o, '"');
}

/* The decoders let only UTF-8 text into the engine, but a string literal
 * of the SQL file is not checked: as in JSON, each maximal subpart of an
 * ill-formed sequence becomes U+FFFD, so CSV output is UTF-8 too. */
static void csv_field(sluice_outbuf *o, const char *s, size_t len, char delimiter, int empty_quoted) {
    if (sluice_utf8_valid(s, len)) {
        csv_field_text(o, s, len, delimiter, empty_quoted);
        return;
    }
    char stack[256];
    sluice_outbuf fixed;
    sluice_outbuf_init(&fixed, stack, sizeof stack);
    for (;;) {
        size_t bad = 0, at = sluice_utf8_find_invalid(s, len, &bad);
        sluice_outbuf_put(&fixed, s, at);
        if (at == len) break;
        sluice_outbuf_put(&fixed, REPLACEMENT, 3);
        s += at + bad;
        len -= at + bad;
    }
    if (fixed.failed) o->failed = 1;
    else csv_field_text(o, fixed.data, fixed.len, delimiter, empty_quoted);
    sluice_outbuf_free(&fixed);
}

sluice_err_t sluice_csv_render_header(sluice_outbuf *o, const sluice_column *cols, size_t ncols, char delimiter) {
    for (size_t i = 0; i < ncols; i++) {
        if (i) sluice_outbuf_putc(o, delimiter);
        csv_field(o, cols[i].name, strlen(cols[i].name), delimiter, 1);
    }
    sluice_outbuf_putc(o, '\n');
    return sluice_outbuf_status(o);
}

sluice_err_t sluice_csv_render_row(sluice_outbuf *o, const sluice_value *row, size_t ncols, char delimiter) {
    char buf[SLUICE_NUMBER_TEXT_MAX + 8];
    for (size_t i = 0; i < ncols; i++) {
        if (i) sluice_outbuf_putc(o, delimiter);
        const sluice_value *v = &row[i];
        if (v->type == SLUICE_TYPE_VARCHAR) {
            csv_field(o, v->u.s, v->len, delimiter, 1);
        } else if (v->type == SLUICE_TYPE_ARRAY) {
            size_t n;
            char *text = sluice_value_render_alloc(v, &n); /* JSON text of any length */
            if (!text) return SLUICE_ERR_NOMEM;
            csv_field(o, text, n, delimiter, 1);
            free(text);
        } else {
            /* a delimiter such as '.' or ':' can occur in a number or a
             * timestamp: the text is checked like any other */
            csv_field_text(o, buf, scalar_text(v, buf), delimiter, 0);
        }
    }
    sluice_outbuf_putc(o, '\n');
    return sluice_outbuf_status(o);
}

/* ---------------- JSON ---------------- */

/* The escape of each byte below 0x20 and of '"' and '\\' (cJSON's: the
 * short forms where JSON has one, else \u00xx); 0: the byte is itself. */
static const char json_short_escape[128] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['"'] = '"', ['\\'] = '\\',
};

/* 1 for the bytes JSON text holds as they are (not below 0x20, '"', '\\'). */
static const unsigned char json_plain_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20..0x2f: '"' */
    R16(1), R16(1), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50..0x5f: '\\' */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
#undef R16
};

static int json_plain(unsigned char c) { return json_plain_byte[c]; }

/* The length of s's first run of plain bytes: 16 bytes at a time with
 * SSE2 (every x86-64 has it), else 8 at a time, each word tested for a byte
 * below 0x20, a '"' or a '\\' (the "has a zero byte" test of Hacker's
 * Delight 6-1, exact as to whether one is there). */
static size_t json_plain_run(const char *s, size_t len) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    for (; i + 16 <= len; i += 16) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* below 0x20 unsigned: min(w, 0x1f) == w */
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(w, _mm_sub_epi8(space, _mm_set1_epi8(1))), w);
        __m128i hit = _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, backslash)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask) return i + (size_t)__builtin_ctz(mask);
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t hit = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b);
        if (hit & highs) break;
    }
#endif
    while (i < len && json_plain((unsigned char)s[i])) i++;
    return i;
}

/* Well-formed UTF-8 text, escaped: runs of plain bytes are copied whole. */
static void json_text(sluice_outbuf *o, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t run = i + json_plain_run(s + i, len - i);
        sluice_outbuf_put(o, s + i, run - i);
        if (run == len) break;
        unsigned char c = (unsigned char)s[run];
        char *p = sluice_outbuf_reserve(o, 6);
        if (!p) return;
        p[0] = '\\';
        if (json_short_escape[c]) {
            p[1] = json_short_escape[c];
            o->len += 2;
        } else {
            static const char hex[] = "0123456789abcdef";
            memcpy(p + 1, "u00", 3);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            o->len += 6;
        }
        i = run + 1;
    }
}

/* A JSON string literal as sluice_json_write_string writes it. */
static void json_string(sluice_outbuf *o, const char *s, size_t len) {
    sluice_outbuf_putc(o, '"');
    if (sluice_utf8_valid(s, len)) {
        json_text(o, s, len);
    } else {
        for (;;) {
            size_t bad = 0, at = sluice_utf8_find_invalid(s, len, &bad);
            json_text(o, s, at);
            if (at == len) break;
            sluice_outbuf_put(o, REPLACEMENT, 3);
            s += at + bad;
            len -= at + bad;
        }
    }
    sluice_outbuf_putc(o, '"');
}

struct sluice_json_keys {
    size_t n;
    size_t *end;  /* key i is text[end[i-1] (0 for i = 0) .. end[i]) */
    char *text;   /* the keys escaped: {"a": then ,"b": ... */
};

sluice_err_t sluice_json_keys_new(const sluice_column *cols, size_t ncols, sluice_json_keys **out) {
    sluice_json_keys *k = calloc(1, sizeof *k);
    sluice_outbuf o;
    sluice_outbuf_init(&o, NULL, 0);
    if (!k || !(k->end = malloc((ncols ? ncols : 1) * sizeof *k->end))) goto nomem;
    for (size_t i = 0; i < ncols; i++) {
        sluice_outbuf_putc(&o, i ? ',' : '{');
        json_string(&o, cols[i].name, strlen(cols[i].name));
        sluice_outbuf_putc(&o, ':');
        k->end[i] = o.len;
    }
    sluice_outbuf_putc(&o, '\0');
    if (o.failed) goto nomem;
    k->n = ncols;
    k->text = o.data;
    *out = k;
    return SLUICE_OK;
nomem:
    sluice_outbuf_free(&o);
    if (k) free(k->end);
    free(k);
    return SLUICE_ERR_NOMEM;
}

void sluice_json_keys_free(sluice_json_keys *keys) {
    if (!keys) return;
    free(keys->end);
    free(keys->text);
    free(keys);
}

/* A row's object with keys from `keys` when given, else escaped from
 * cols here. */
static sluice_err_t json_row(sluice_outbuf *o, const sluice_json_keys *keys, const sluice_column *cols,
                             const sluice_value *row, size_t ncols) {
    if (ncols == 0) sluice_outbuf_putc(o, '{');
    for (size_t i = 0; i < ncols; i++) {
        if (keys) {
            size_t from = i ? keys->end[i - 1] : 0;
            sluice_outbuf_put(o, keys->text + from, keys->end[i] - from);
        } else {
            sluice_outbuf_putc(o, i ? ',' : '{');
            json_string(o, cols[i].name, strlen(cols[i].name));
            sluice_outbuf_putc(o, ':');
        }
        const sluice_value *v = &row[i];
        switch ((sluice_type_t)v->type) {
        case SLUICE_TYPE_VARCHAR: json_string(o, v->u.s, v->len); break;
        case SLUICE_TYPE_TIMESTAMP: {
            char *p = sluice_outbuf_reserve(o, SLUICE_NUMBER_TEXT_MAX + 10);
            if (!p) break;
            p[0] = '"';
            size_t n = sluice_ts_render(v->u.i, p + 1, SLUICE_NUMBER_TEXT_MAX + 8);
            p[n + 1] = '"';
            o->len += n + 2;
            break;
        }
        case SLUICE_TYPE_DOUBLE:
            if (!isfinite(v->u.d)) {
                sluice_outbuf_put(o, "null", 4); /* JSON has no NaN or infinities */
                break;
            }
            /* fall through */
        case SLUICE_TYPE_BIGINT:
        case SLUICE_TYPE_INTERVAL:
        case SLUICE_TYPE_BOOLEAN: {
            char *p = sluice_outbuf_reserve(o, SLUICE_NUMBER_TEXT_MAX + 8);
            if (p) o->len += scalar_text(v, p);
            break;
        }
        case SLUICE_TYPE_ARRAY: {
            /* a JSON array, not a string holding one */
            size_t need;
            char *text = sluice_value_render_alloc(v, &need);
            if (!text) return SLUICE_ERR_NOMEM;
            sluice_outbuf_put(o, text, need);
            free(text);
            break;
        }
        case SLUICE_TYPE_NULL:
        default: sluice_outbuf_put(o, "null", 4); break;
        }
    }
    sluice_outbuf_put(o, "}\n", 2);
    return sluice_outbuf_status(o);
}

sluice_err_t sluice_json_render_row(sluice_outbuf *o, const sluice_column *cols, const sluice_value *row,
                                    size_t ncols) {
    return json_row(o, NULL, cols, row, ncols);
}

sluice_err_t sluice_json_render_row_keys(sluice_outbuf *o, const sluice_json_keys *keys, const sluice_value *row) {
    return json_row(o, keys, NULL, row, keys->n);
}

/* ---------------- one row to a FILE ---------------- */

/* Write what render put in o with one fwrite; o is freed. */
static sluice_err_t write_out(sluice_outbuf *o, sluice_err_t rendered, FILE *f) {
    sluice_err_t rc = rendered ? rendered : sluice_outbuf_flush(o, f);
    sluice_outbuf_free(o);
    return rc;
}

sluice_err_t sluice_csv_write_header(FILE *f, const sluice_column *cols, size_t ncols, char delimiter) {
    char stack[1024];
    sluice_outbuf o;
    sluice_outbuf_init(&o, stack, sizeof stack);
    return write_out(&o, sluice_csv_render_header(&o, cols, ncols, delimiter), f);
}

sluice_err_t sluice_csv_write_row(FILE *f, const sluice_value *row, size_t ncols, char delimiter) {
    char stack[1024];
    sluice_outbuf o;
    sluice_outbuf_init(&o, stack, sizeof stack);
    return write_out(&o, sluice_csv_render_row(&o, row, ncols, delimiter), f);
}

sluice_err_t sluice_json_write_row(FILE *f, const sluice_column *cols, const sluice_value *row, size_t ncols) {
    char stack[1024];
    sluice_outbuf o;
    sluice_outbuf_init(&o, stack, sizeof stack);
    return write_out(&o, sluice_json_render_row(&o, cols, row, ncols), f);
}
