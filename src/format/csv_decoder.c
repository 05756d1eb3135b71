/*
 * The CSV decoder, on libcsv (RFC 4180 quoting, non-strict mode).
 *
 * Each record value is one CSV record: it is fed to csv_parse() and closed
 * with csv_fini(), which also resets the parser for the next record.  With a
 * header, header names are mapped to column specs once at creation;
 * without one, fields are positional in spec order (the specs play the
 * header's part).  Spaces are kept as part of fields (RFC 4180), and one
 * trailing '\r' (a CRLF line) is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "format/format_int.h"

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
    int fini = csv_fini(&d->parser, on_field, on_record, d);
    if (done != len || fini != 0) return SLUICE_ERR_NOMEM;
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
