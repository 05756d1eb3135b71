/*
 * The CSV decoder, on libcsv (RFC 4180 quoting, non-strict mode).
 *
 * Each record value is one CSV record: it is fed to csv_parse() and closed
 * with csv_fini(), which also resets the parser for the next record.  With a
 * header, header names are mapped to column specs once at creation;
 * without one, fields are positional in spec order (the specs play the
 * header's part).  Spaces are kept as part of fields (RFC 4180), and one
 * trailing '\r' (a CRLF line) is dropped.
 *
 * Text must be UTF-8: a wanted field that is not makes the record malformed
 * (so ill-formed bytes never reach the engine).  A record that ends inside
 * a quoted field is malformed too: libcsv's lenient mode would close the
 * field silently, and a file source hands the decoder everything from an
 * unmatched quote to the end of the file as one record, so accepting it
 * would swallow every row after it.  The file source splits records where
 * quotes pair up (each '"' opens or closes, as in RFC 4180, where a quote
 * inside a field is doubled), so a record with an odd number of quotes is
 * unterminated by that reading too, even where libcsv's lenient reading
 * took one of them for text.  A UTF-8 byte-order mark at the start
 * of the header is not part of the first name.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "format/format_int.h"

/* libcsv's parser state "inside a field" (FIELD_BEGUN in libcsv.c; the
 * states are not in csv.h).  With `quoted` set it means: after the opening
 * quote of a field whose closing quote has not been seen. */
#define LIBCSV_FIELD_BEGUN 2

static const char UTF8_BOM[] = "\xEF\xBB\xBF";

typedef struct csv_decoder {
    struct csv_parser parser;
    const sluice_field_spec *specs;
    size_t nfields;
    int *colmap;      /* header column -> spec index, or -1: not wanted */
    size_t ncols;     /* header columns (without header: nfields) */

    /* per-record state, set by decode() for the callbacks */
    sluice_value *out;
    sluice_arena *arena;
    char *reason;
    size_t reason_size;
    size_t field;     /* fields seen in the record */
    size_t records;   /* records completed */
    sluice_err_t err;
} csv_decoder;

static int keep_spaces(unsigned char c) {
    (void)c;
    return 0;
}

static void on_field(void *s, size_t len, void *data) {
    csv_decoder *d = data;
    size_t k = d->field++;
    if (d->err != SLUICE_OK || d->records > 0 || k >= d->ncols) return;
    int idx = d->colmap[k];
    if (idx < 0) return;
    const sluice_field_spec *spec = &d->specs[idx];
    sluice_value *out = &d->out[idx];
    if (!sluice_utf8_valid(s, len)) {
        d->err = sluice_seterr(d->reason, d->reason_size, SLUICE_ERR_MALFORMED,
                               "invalid UTF-8 in column '%s' at byte %zu of the field",
                               spec->name, sluice_utf8_find_invalid(s, len, NULL) + 1);
        return;
    }
    if (len == 0) {
        *out = spec->type == SLUICE_TYPE_VARCHAR ? sluice_value_varchar("", 0)
                                                 : sluice_value_null();
        return;
    }
    int rc = sluice_format_convert_text(spec, s, len, out, d->arena);
    if (rc == SLUICE_ERR_NOMEM)
        d->err = SLUICE_ERR_NOMEM;
    else if (rc == 1)
        d->err = sluice_format_bad_value(d->reason, d->reason_size, spec, s, len, 1);
}

static void on_record(int c, void *data) {
    (void)c;
    csv_decoder *d = data;
    if (d->records++ == 0 && d->err == SLUICE_OK && d->field > d->ncols)
        d->err = sluice_seterr(d->reason, d->reason_size, SLUICE_ERR_MALFORMED,
                               "CSV record has %zu fields, expected at most %zu", d->field,
                               d->ncols);
}

static int parser_init(struct csv_parser *p, char delimiter) {
    if (csv_init(p, CSV_APPEND_NULL) != 0) return -1;
    csv_set_delim(p, (unsigned char)delimiter);
    csv_set_space_func(p, keep_spaces);
    return 0;
}

/* ---- header parsing at creation ---- */

typedef struct header_names {
    char **names;
    size_t n, cap;
    int nomem;
    size_t records;
} header_names;

static void header_field(void *s, size_t len, void *data) {
    header_names *h = data;
    if (h->nomem || h->records > 0) return;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        char **nn = realloc(h->names, cap * sizeof *nn);
        if (!nn) {
            h->nomem = 1;
            return;
        }
        h->names = nn;
        h->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        h->nomem = 1;
        return;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    /* a name with a NUL byte inside names no declared column ("k\0" is
     * not k): an empty name never matches (a declared name is not empty) */
    if (memchr(copy, '\0', len)) copy[0] = '\0';
    h->names[h->n++] = copy;
}

static void header_record(int c, void *data) {
    (void)c;
    ((header_names *)data)->records++;
}

static void header_free(header_names *h) {
    for (size_t i = 0; i < h->n; i++) free(h->names[i]);
    free(h->names);
}

static sluice_err_t map_header(csv_decoder *d, const char *header, size_t len, char delimiter,
                               char *errstr, size_t errstr_size) {
    while (len > 0 && (header[len - 1] == '\n' || header[len - 1] == '\r')) len--;
    if (len >= 3 && memcmp(header, UTF8_BOM, 3) == 0) header += 3, len -= 3;
    struct csv_parser p;
    header_names h = {0};
    if (parser_init(&p, delimiter) != 0) return SLUICE_ERR_NOMEM;
    if (csv_parse(&p, header, len, header_field, header_record, &h) != len) h.nomem = 1;
    csv_fini(&p, header_field, header_record, &h);
    csv_free(&p);
    sluice_err_t rc = SLUICE_OK;
    if (h.nomem) {
        rc = SLUICE_ERR_NOMEM;
        goto out;
    }
    d->ncols = h.n;
    d->colmap = malloc((h.n ? h.n : 1) * sizeof *d->colmap);
    if (!d->colmap) {
        rc = SLUICE_ERR_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < h.n; k++) d->colmap[k] = -1;
    for (size_t i = 0; i < d->nfields; i++) {
        size_t k = 0;
        while (k < h.n && strcmp(h.names[k], d->specs[i].name) != 0) k++;
        if (k == h.n) {
            rc = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                               "column '%s' is not in the CSV header", d->specs[i].name);
            goto out;
        }
        for (size_t k2 = k + 1; k2 < h.n; k2++)
            if (strcmp(h.names[k2], d->specs[i].name) == 0) {
                /* which of the two is meant cannot be told: refuse, never guess */
                rc = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                   "the CSV header names column '%s' twice (fields %zu and %zu)", d->specs[i].name,
                                   k + 1, k2 + 1);
                goto out;
            }
        if (d->colmap[k] >= 0) {
            rc = sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                               "column '%s' is declared twice", d->specs[i].name);
            goto out;
        }
        d->colmap[k] = (int)i;
    }
out:
    header_free(&h);
    return rc;
}

sluice_err_t sluice_csv_decoder_new(const sluice_decoder_options *opts,
                                    const sluice_field_spec *specs, size_t nfields,
                                    void **impl, char *errstr, size_t errstr_size) {
    *impl = NULL;
    for (size_t i = 0; i < nfields; i++)
        if (specs[i].path)
            return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                                 "column '%s': PATH '%s' applies to JSON only, not CSV",
                                 specs[i].name, specs[i].path);
    char delimiter = opts->csv_delimiter ? opts->csv_delimiter : ',';
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r')
        return sluice_seterr(errstr, errstr_size, SLUICE_ERR_CONFIG,
                             "CSV delimiter cannot be a quote or a line break");
    csv_decoder *d = calloc(1, sizeof *d);
    if (!d) return SLUICE_ERR_NOMEM;
    d->specs = specs;
    d->nfields = nfields;
    if (parser_init(&d->parser, delimiter) != 0) {
        free(d);
        return SLUICE_ERR_NOMEM;
    }
    sluice_err_t rc = SLUICE_OK;
    if (opts->csv_header) {
        rc = map_header(d, opts->csv_header, opts->csv_header_len, delimiter, errstr,
                        errstr_size);
    } else {
        d->ncols = nfields;
        d->colmap = malloc((nfields ? nfields : 1) * sizeof *d->colmap);
        if (!d->colmap) rc = SLUICE_ERR_NOMEM;
        for (size_t i = 0; d->colmap && i < nfields; i++) d->colmap[i] = (int)i;
    }
    if (rc != SLUICE_OK) {
        sluice_csv_decoder_free(d);
        return rc;
    }
    *impl = d;
    return SLUICE_OK;
}

/* Where the quoted field left open in data[0..len) began (its opening
 * quote's offset, and *line: its line in the record, from 1), read with
 * libcsv's lenient rules: a quote opens a field only at its start; inside,
 * "" is a quote, and a quote not followed by the delimiter or a line break
 * is kept as text.  The last quoted field opened, or else the first quote
 * (a stray one inside a field). */
static size_t open_quote(const char *data, size_t len, char delimiter, size_t *line) {
    const char *first = memchr(data, '"', len);
    size_t start = first ? (size_t)(first - data) : 0, ln = 1, open_line = 1;
    for (size_t i = 0; i < start; i++) open_line += data[i] == '\n';
    int at_field_start = 1, inq = 0;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') ln++;
        if (inq) {
            if (c != '"') continue;
            if (i + 1 < len && data[i + 1] == '"') {
                i++;
            } else if (i + 1 == len || data[i + 1] == delimiter || data[i + 1] == '\n' ||
                       data[i + 1] == '\r') {
                inq = 0;
            }
        } else if (c == delimiter || c == '\n' || c == '\r') {
            at_field_start = 1;
        } else {
            if (c == '"' && at_field_start) {
                inq = 1;
                start = i;
                open_line = ln;
            }
            at_field_start = 0;
        }
    }
    *line = open_line;
    return start;
}

sluice_err_t sluice_csv_decoder_decode(void *impl, const char *data, size_t len,
                                       sluice_value *out, sluice_arena *arena, char *reason,
                                       size_t reason_size) {
    csv_decoder *d = impl;
    for (size_t i = 0; i < d->nfields; i++) out[i] = sluice_value_null();
    if (len > 0 && data[len - 1] == '\r') len--;
    d->out = out;
    d->arena = arena;
    d->reason = reason;
    d->reason_size = reason_size;
    d->field = 0;
    d->records = 0;
    d->err = SLUICE_OK;
    size_t done = csv_parse(&d->parser, data, len, on_field, on_record, d);
    int unterminated = d->parser.quoted && d->parser.pstate == LIBCSV_FIELD_BEGUN;
    size_t quotes = 0;
    for (const char *q = data; (q = memchr(q, '"', len - (size_t)(q - data))) != NULL; q++) quotes++;
    if (quotes % 2) unterminated = 1;
    int fini = csv_fini(&d->parser, on_field, on_record, d);  /* also resets the parser */
    if (done != len || fini != 0) return SLUICE_ERR_NOMEM;
    if (unterminated) {
        size_t line = 1, at = open_quote(data, len, d->parser.delim_char, &line);
        return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                             "unterminated quoted field starting on line %zu of the record "
                             "(byte %zu): the record runs to the end of the input",
                             line, at + 1);
    }
    if (d->records == 0) {
        /* an empty line: one empty field */
        on_field("", 0, d);
        on_record(0, d);
    }
    if (d->err != SLUICE_OK) return d->err;
    if (d->records > 1)
        return sluice_seterr(reason, reason_size, SLUICE_ERR_MALFORMED,
                             "CSV value holds %zu records (an unquoted line break?)",
                             d->records);
    return SLUICE_OK;
}

void sluice_csv_decoder_free(void *impl) {
    csv_decoder *d = impl;
    if (!d) return;
    csv_free(&d->parser);
    free(d->colmap);
    free(d);
}
